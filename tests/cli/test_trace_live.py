"""`neutrino trace --live` on a real dataplane (root): two VMs behind a Linux bridge
agent in a host namespace, a security group allowing tcp/22; the live check agrees
with the API; then the tcp/22 rule is deleted from the kernel behind the (stopped)
agent's back and the live check says which API rule the kernel lacks."""

from __future__ import annotations

import json

import pytest

from dataplane.topology import Topology, wait_for
from neutrino.agent.common import privileged
from neutrino.agent.firewall import driver as fw_driver
from neutrino.agent.firewall import render
from neutrino.agent.linuxbridge.agent import LinuxBridgeAgent
from neutrino.cli import live
from neutrino.cli import main as cli_main
from neutrino.contract import bus as transport
from server import Api, ServerProcess

from .conftest import agent_conf


def test_live_finds_a_rule_removed_behind_the_agents_back(
        rabbit_server: ServerProcess, topo: Topology,
        capsys: pytest.CaptureFixture[str]) -> None:
    api = Api(rabbit_server.url)
    (host_ns,) = topo.hosts("198.51.100.1")
    host = f"{topo.prefix}compute"
    rpc = transport.get_transport(agent_conf(host))
    agent = LinuxBridgeAgent(agent_conf(host), transport=rpc, namespace=host_ns,
                             server=rabbit_server.rpc_name).start()
    stopped = False

    def trace(*argv: str) -> tuple[int, dict]:
        capsys.readouterr()
        status = cli_main.main(["--noauth", "--endpoint", rabbit_server.url, "--format",
                                "json", "trace", *argv, "--protocol", "tcp", "--port",
                                "22", "--live", "--host", host, "--host-netns", host_ns])
        return status, json.loads(capsys.readouterr().out)
    try:
        assert wait_for(lambda: any(a["host"] == host and a["alive"] for a in
                                    api.get("agents").json()["agents"]), within=30)
        net = api.network(name=f"{topo.prefix}live")
        api.subnet(net["id"], "192.0.2.0/24")
        web = api.create("security_group", name=f"{topo.prefix}web")
        ssh = api.create("security_group_rule", security_group_id=web["id"],
                         direction="ingress", protocol="tcp", port_range_min=22,
                         port_range_max=22, remote_ip_prefix="0.0.0.0/0")
        ports = [api.port(net["id"], device_owner="compute:nova",
                          security_groups=[web["id"]], **{"binding:host_id": host})
                 for _ in range(2)]
        for port in ports:
            topo.vm(host_ns, port["id"], port["mac_address"],
                    f"{port['fixed_ips'][0]['ip_address']}/24")
        chain = render.port_chain(render.INGRESS_PREFIX, ports[1]["id"])

        def applied() -> bool:
            tables = fw_driver.parse_iptables_save(
                privileged.iptables_save(namespace=host_ns))
            return chain in tables.chains and all(
                api.get(f"ports/{p['id']}").json()["port"]["status"] == "ACTIVE"
                for p in ports)
        assert wait_for(applied, within=30)

        status, doc = trace(ports[0]["id"], ports[1]["id"])
        assert doc["allowed"] is True
        assert [h["verdict"] for h in doc["live"]] == ["ok"] * 4, doc["live"]
        assert status == 0

        agent.stop()  # nothing repairs what follows
        stopped = True
        line = live.expected_rules(ports[1], {web["id"]: api.get(
            f"security-groups/{web['id']}").json()["security_group"]}, "ingress",
            4)[ssh["id"]]
        # The rule is in the chain of the port's groups, which its chain goes to.
        group = render.group_chain(render.GROUP_INGRESS_PREFIX, ports[1]["security_groups"])
        privileged.execute(["iptables", *line.replace(f"-A {chain} ", f"-D {group} ", 1)
                            .split()], namespace=host_ns)

        status, doc = trace(ports[0]["id"], ports[1]["id"])
        assert doc["allowed"] is True  # the API still says yes
        assert status == 1             # the host does not
        # Both ports are of the group whose chain lost the rule: each is reported.
        differs = [h for h in doc["live"] if h["verdict"] != "ok"]
        assert differs and all(h["verdict"] == "blocked" and h["rule_id"] == ssh["id"]
                               for h in differs), differs
        assert any(f"rule {ssh['id']} (ingress) is in the API but not in {chain}"
                   in h["detail"] for h in differs), differs
    finally:
        if not stopped:
            agent.stop()
        rpc.cleanup()
