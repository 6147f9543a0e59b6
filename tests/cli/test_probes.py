"""`neutrino debug` probes on a real dataplane (root): a server on RabbitMQ, a Linux
bridge agent for a host played by a namespace, two probes on one network plugged
into that host; they go ACTIVE, one pings the other from inside (probe-exec,
ping-all), probe-list sees them, probe-delete removes namespace, tap and port.

Everything made here is named by this test (its host namespace's prefix, the probes'
qprobe-<port id>) and removed at the end, whatever happened."""

from __future__ import annotations

import json

import pytest

from dataplane.topology import Topology, wait_for
from neutrino.agent import vif as vif_mod
from neutrino.agent.common import privileged
from neutrino.agent.common.privileged import Kernel
from neutrino.agent.linuxbridge.agent import LinuxBridgeAgent
from neutrino.cli import debug
from neutrino.cli import main as cli_main
from neutrino.contract import bus as transport
from server import Api, ServerProcess

from .conftest import agent_conf


def test_probe_create_exec_ping_delete(rabbit_server: ServerProcess, topo: Topology,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    server = rabbit_server
    api = Api(server.url)
    (host_ns,) = topo.hosts("198.51.100.1")
    host = f"{topo.prefix}compute"
    rpc = transport.get_transport(agent_conf(host))
    agent = LinuxBridgeAgent(agent_conf(host), transport=rpc, namespace=host_ns,
                             server=server.rpc_name).start()
    probes: list[str] = []

    def neutrino(*argv: str) -> tuple[int, str]:
        capsys.readouterr()
        status = cli_main.main(["--noauth", "--endpoint", server.url, "--format", "json",
                                "debug", *argv])
        return status, capsys.readouterr().out

    where = ["--host", host, "--host-netns", host_ns]
    try:
        assert wait_for(lambda: any(a["host"] == host and a["alive"] for a in
                                    api.get("agents").json()["agents"]), within=30)
        net = api.network(name=f"{topo.prefix}probed")
        api.subnet(net["id"], "192.0.2.0/24")
        for _ in range(2):
            status, out = neutrino("probe-create", net["name"], *where)
            assert status == 0
            probe = json.loads(out)["probe"]
            probes.append(probe["id"])
            assert probe["namespace"] == f"qprobe-{probe['id']}"
        ports = [api.get(f"ports/{p}").json()["port"] for p in probes]
        assert {p["device_owner"] for p in ports} == {"network:probe"}
        assert {p["binding:host_id"] for p in ports} == {host}
        with Kernel(debug.namespace(probes[0])) as kernel:
            assert kernel.links()["eth0"].mac == ports[0]["mac_address"]
            assert f"{ports[0]['fixed_ips'][0]['ip_address']}/24" in \
                kernel.addresses("eth0")
        assert wait_for(lambda: all(api.get(f"ports/{p}").json()["port"]["status"]
                                    == "ACTIVE" for p in probes), within=30)

        status, out = neutrino("probe-list", *where)
        listed = {p["id"]: p for p in json.loads(out)["probes"]}
        assert set(listed) == set(probes) and all(p["plugged_here"]
                                                  for p in listed.values())

        other = ports[1]["fixed_ips"][0]["ip_address"]
        # From inside the first probe (the bridge learns the path on the first tries).
        assert wait_for(lambda: neutrino("probe-exec", probes[0][:13], "ping", "-c", "1",
                                         "-W", "1", other)[0] == 0, within=20)
        status, out = neutrino("ping-all", probes[0], "--include-all", *where)
        results = json.loads(out)["results"]
        assert [(r["address"], r["reachable"]) for r in results] == [(other, True)]
        assert status == 0

        for probe in list(probes):
            status, _ = neutrino("probe-delete", probe, *where)
            assert status == 0
            probes.remove(probe)
            assert debug.namespace(probe) not in privileged.namespaces()
            with Kernel(host_ns) as kernel:
                assert not kernel.exists(vif_mod.tap_name(probe))
            assert api.get(f"ports/{probe}").status_code == 404
        status, out = neutrino("probe-list", *where)
        assert json.loads(out)["probes"] == []
    finally:
        for probe in probes:  # a failure above: remove what is left
            vif_mod.unplug(probe, debug.namespace(probe), host_ns)
            api.delete(f"ports/{probe}")
        agent.stop()
        rpc.cleanup()


def test_probe_commands_need_root_or_an_existing_probe(
        rabbit_server: ServerProcess, capsys: pytest.CaptureFixture[str]) -> None:
    status = cli_main.main(["--noauth", "--endpoint", rabbit_server.url, "debug",
                            "probe-exec",
                            "6f5b0d8e-2a4b-4c1e-9d7a-0b1c2d3e4f50", "true"])
    assert status == 2
    assert "no probe 6f5b0d8e-2a4b-4c1e-9d7a-0b1c2d3e4f50" in capsys.readouterr().err
