"""Port binding by the `openvswitch` mechanism driver through the API (issue 19): a
port on a host with an Open vSwitch agent is bound vif_type ``ovs`` into br-int,
and a trunk's parent into its trunk's bridge ``tbr-<trunk id>`` (upstream's OVS
trunk driver: Nova/os-vif plug the VM there, the agent wires it to br-int); a
port already bound there can be neither trunked nor untrunked (upstream's OVS
trunk driver cannot trunk a bound port: the VM is not in a trunk bridge).

A server of its own with ``mechanism_drivers = openvswitch``; the agent reports
through the real report_state endpoint, run in this process against that server's
database (the server's in-process bus is out of reach from a test process)."""

from __future__ import annotations

import configparser
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends import database
from neutrino.contract import topics
from neutrino.db.engine import Database
from neutrino.rpc.endpoints import AgentStateEndpoint
from server import Api, ServerProcess, assert_error

OVS_SERVER = "[ml2]\nmechanism_drivers = openvswitch\n"


@pytest.fixture
def ovs_server(backend: str, tmp_path: Path) -> Iterator[ServerProcess]:
    with database(backend, tmp_path) as url, \
            ServerProcess(tmp_path, url, extra_conf=OVS_SERVER) as proc:
        yield proc


def report_ovs_agent(server: ServerProcess, host: str) -> None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(server.config)
    db = Database(parser["database"]["connection"])
    try:
        state = {"agent_type": topics.AGENT_TYPE_OVS,
                 "binary": "neutrino-openvswitch-agent", "topic": "N/A",
                 "host": host, "start_flag": True,
                 "configurations": {"tunnel_types": ["vxlan"],
                                    "tunneling_ip": "192.0.2.10",
                                    "integration_bridge": "br-int",
                                    "datapath_type": "netdev",
                                    "firewall_driver": "openvswitch"}}
        AgentStateEndpoint(db, 75).report_state({}, agent_state={"agent_state": state})
    finally:
        db.engine.dispose()


def bind(api: Api, port: dict, host: str) -> dict:
    response = api.put(f"ports/{port['id']}", {"port": {"binding:host_id": host}})
    assert response.status_code == 200, response.text
    return response.json()["port"]


def test_trunk_parent_is_plugged_into_the_trunk_bridge(ovs_server: ServerProcess) -> None:
    api = Api(ovs_server.url)
    host = f"compute-{uuid.uuid4().hex[:10]}"
    report_ovs_agent(ovs_server, host)
    net = api.network(name="ovs-bind")
    api.subnet(net["id"], "10.21.0.0/24")
    parent, plain = api.port(net["id"], name="parent"), api.port(net["id"], name="plain")
    # Upstream's order: the trunk is made on the unbound parent, then Nova binds it.
    trunk = api.create("trunk", port_id=parent["id"], name="t")

    bound = bind(api, parent, host)
    assert bound["binding:vif_type"] == "ovs"
    details = bound["binding:vif_details"]
    assert details["bridge_name"] == ("tbr-" + trunk["id"])[:14]
    assert details["datapath_type"] == "netdev" and details["ovs_hybrid_plug"] is False
    shown = api.get(f"ports/{parent['id']}").json()["port"]
    assert shown["binding:vif_details"]["bridge_name"] == details["bridge_name"]

    other = bind(api, plain, host)
    assert other["binding:vif_type"] == "ovs"
    assert other["binding:vif_details"]["bridge_name"] == "br-int"


def test_bound_parent_cannot_be_trunked_or_untrunked(ovs_server: ServerProcess) -> None:
    """Upstream's OVS trunk driver has can_trunk_bound_port False: the VM of a port
    bound into br-int would never be in a trunk bridge, so a trunk on it is refused
    (ParentPortInUse), and a trunk under a bound parent cannot be deleted either
    (TrunkInUse) until Nova unbinds it (the VM deleted)."""
    api = Api(ovs_server.url)
    host = f"compute-{uuid.uuid4().hex[:10]}"
    report_ovs_agent(ovs_server, host)
    net = api.network(name="ovs-bound-trunk")
    api.subnet(net["id"], "10.22.0.0/24")
    booted = api.port(net["id"], name="booted")
    assert bind(api, booted, host)["binding:vif_details"]["bridge_name"] == "br-int"
    assert_error(api.post("trunks", {"trunk": {"port_id": booted["id"]}}), 409,
                 "ParentPortInUse", f"Port {booted['id']} is currently in use and is "
                 "not eligible for use as a parent port.")
    assert api.get("trunks", params={"port_id": booted["id"]}).json()["trunks"] == []

    parent = api.port(net["id"], name="parent")
    trunk = api.create("trunk", port_id=parent["id"], name="t")
    assert bind(api, parent, host)["binding:vif_details"]["bridge_name"].startswith("tbr-")
    assert_error(api.delete(f"trunks/{trunk['id']}"), 409, "TrunkInUse",
                 f"Trunk {trunk['id']} is currently in use.")
    # Sub-ports can still come and go under a bound parent (the agent wires them).
    sub = api.port(net["id"], name="sub")
    response = api.put(f"trunks/{trunk['id']}/add_subports", {"sub_ports": [
        {"port_id": sub["id"], "segmentation_type": "vlan", "segmentation_id": 10}]})
    assert response.status_code == 200, response.text
    # The VM deleted: Nova unbinds the parent, then the trunk can go.
    bind(api, parent, "")
    assert api.delete(f"trunks/{trunk['id']}").status_code == 204
