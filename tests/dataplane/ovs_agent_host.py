"""What the Open vSwitch agent's end-to-end tests share (test_ovs_agent,
test_ovs_trunk, test_ovs_vlan, test_l3_ovs): a server on RabbitMQ with the
openvswitch mechanism driver (conftest's ``ovs_server`` fixture, or other
`sections`), the agent's configuration for a private OVS, binding
a port as neutrino-vif does, and one host: a private OVS in a host namespace with
an agent of its own in this process (`OvsAgentHost`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from oslo_config import cfg

from backends import unavailable
from dataplane.ovs_host import OvsHost, available
from dataplane.topology import Topology, wait_for
from neutrino.agent.ovs import config as ovs_config
from neutrino.agent.ovs.agent import OpenvswitchAgent
from neutrino.contract import bus as transport
from rpc_helpers import RABBIT, server_on_rabbit, unique
from server import Api, ServerProcess

SECTIONS = ("\n[ml2]\nmechanism_drivers = openvswitch\n"
            "[ml2_type_vlan]\nnetwork_vlan_ranges = physnet1\n")


@contextmanager
def ovs_server_on_rabbit(rabbit: str, tmp_path_factory: pytest.TempPathFactory,
                         name: str, sections: str) -> Iterator[ServerProcess]:
    """A server (SQLite) on the broker with `sections` of configuration; skipped (or
    failed in CI) where a private OVS cannot run."""
    why = available()
    if why:
        unavailable(why)
    state = tmp_path_factory.mktemp(name)
    with server_on_rabbit(rabbit, "sqlite", state, unique(name), sections=sections) as proc:
        yield proc


def agent_conf(host: str, ovs: OvsHost) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    ovs_config.register_opts(conf)
    conf(args=[])
    conf.set_override("transport_url", RABBIT)
    conf.set_override("host", host)
    conf.set_override("state_path", str(ovs.rundir))
    conf.set_override("rpc_response_timeout", 20)
    conf.set_override("ovsdb_connection", ovs.db, group="ovs")
    conf.set_override("ovs_rundir", str(ovs.rundir), group="ovs")
    conf.set_override("datapath_type", "netdev", group="ovs")
    conf.set_override("local_ip", "192.0.2.10", group="ovs")
    conf.set_override("bridge_mappings", ["physnet1:br-physnet1"], group="ovs")
    conf.set_override("tunnel_types", ["vxlan"], group="AGENT")
    conf.set_override("polling_interval", 0.2, group="AGENT")
    conf.set_override("report_interval", 2, group="AGENT")
    conf.set_override("resync_interval", 30, group="AGENT")
    # These tests are about L2 (the firewall's own test turns it on).
    conf.set_override("firewall_driver", "noop", group="securitygroup")
    return conf


def bind(api: Api, port: dict, host: str) -> None:
    """What neutrino-vif plug does at the API: bind the port to the host."""
    response = api.put(f"ports/{port['id']}", {"port": {
        "binding:host_id": host, "device_owner": "compute:nova"}})
    assert response.status_code == 200, response.text


class OvsAgentHost:
    """A host namespace of `topo` with a private OVS and an Open vSwitch agent
    (host name ``<topo prefix><name>``, the OpenFlow firewall on, `bridge_mappings`
    as given or agent_conf's). `close` stops the agent, its transport and the OVS,
    whatever was started."""

    def __init__(self, server: ServerProcess, topo: Topology, tmp_path: Path, name: str,
                 bridge_mappings: list[str] | None = None) -> None:
        self.server = server
        self.api = Api(server.url)
        self.host_ns = topo.namespace("h0")
        self.name = f"{topo.prefix}{name}"
        self.ovs = OvsHost(tmp_path / "ovs", self.host_ns)
        self.agent: Any = None
        self.rpc: Any = None
        try:
            self.ovs.start()
            self.conf = agent_conf(self.name, self.ovs)
            self.conf.set_override("firewall_driver", "openvswitch", group="securitygroup")
            if bridge_mappings is not None:
                self.conf.set_override("bridge_mappings", bridge_mappings, group="ovs")
            self.rpc = transport.get_transport(self.conf)
            self.start_agent()
        except BaseException:
            self.close()
            raise

    def start_agent(self) -> Any:
        self.agent = OpenvswitchAgent(self.conf, transport=self.rpc,
                                      server=self.server.rpc_name).start()
        return self.agent

    def restart(self) -> Any:
        """The agent stopped and a new one started on the same configuration."""
        agent, self.agent = self.agent, None
        agent.stop()
        return self.start_agent()

    def registered(self, within: float = 30, **configurations: object) -> bool:
        """Whether the server lists the agent alive (with these `configurations`)."""
        def listed() -> bool:
            return any(a["host"] == self.name and a["alive"]
                       and all(a["configurations"].get(k) == v
                               for k, v in configurations.items())
                       for a in self.api.get("agents").json()["agents"])
        return wait_for(listed, within=within)

    def close(self) -> None:
        try:
            if self.agent is not None:
                self.agent.stop()
                self.agent = None
            if self.rpc is not None:
                self.rpc.cleanup()
                self.rpc = None
        finally:
            self.ovs.stop()
