"""Load balancing end to end (issue 16): a real server on RabbitMQ, the L2 and L3
agents of one host namespace (l3_world.py) and the load balancer agent beside
them. A load balancer made through the Octavia API spreads HTTP requests over two
member "VMs" (tiny HTTP servers in namespaces); once one member's server is
killed, the health monitor marks it ERROR and it gets no more requests."""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
from collections.abc import Iterator

import pytest

from dataplane.l3_world import L3World, l3_world
from dataplane.test_dhcp_agent import agent_conf
from dataplane.topology import wait_for
from neutrino.agent.common import privileged
from neutrino.agent.lbaas import config as lbaas_config
from neutrino.agent.lbaas.agent import LbaasAgent
from neutrino.contract import lbaas as contract
from rpc_helpers import RABBIT
from server import Api, ServerProcess

LB = "/v2/lbaas"
WITHIN = 30.0
HTTP_PORT = 8080

# A tiny HTTP server: answers every GET with its tag.
HTTP_SERVER = r"""
import http.server, sys
tag = sys.argv[1].encode()
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(tag)))
        self.end_headers()
        self.wfile.write(tag)
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("0.0.0.0", int(sys.argv[2])), Handler)
print("ready", flush=True)
server.serve_forever()
"""

# N GETs on new connections; prints each answer's body (or "-" on failure).
HTTP_CLIENT = r"""
import http.client, sys
for _ in range(int(sys.argv[2])):
    try:
        c = http.client.HTTPConnection(sys.argv[1], 80, timeout=2)
        c.request("GET", "/")
        print(c.getresponse().read().decode())
        c.close()
    except OSError:
        print("-")
"""


@pytest.fixture(scope="module")
def world(server: ServerProcess) -> Iterator[L3World]:
    with l3_world(server) as made:
        yield made


def _http_server(world: L3World, namespace: str, tag: str) -> subprocess.Popen:
    proc = subprocess.Popen(["ip", "netns", "exec", namespace, sys.executable, "-c",
                             HTTP_SERVER, tag, str(HTTP_PORT)], stdout=subprocess.PIPE,
                            text=True)
    world.servers.append(proc)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def _get(namespace: str, address: str, count: int) -> list[str]:
    done = subprocess.run(["ip", "netns", "exec", namespace, sys.executable, "-c",
                           HTTP_CLIENT, address, str(count)], capture_output=True,
                          text=True, timeout=60, check=False)
    return done.stdout.split()


def _active(api: Api, lb_id: str) -> bool:
    lb = api.get(f"{LB}/loadbalancers/{lb_id}").json()["loadbalancer"]
    assert lb["provisioning_status"] != "ERROR", lb
    return lb["provisioning_status"] == "ACTIVE"


def _create(api: Api, lb_id: str, path: str, key: str, **body: object) -> dict:
    response = api.post(f"{LB}/{path}", {key: body})
    assert response.status_code == 201, response.text
    assert wait_for(lambda: _active(api, lb_id), WITHIN)
    return response.json()[key]


def test_load_balancer_spreads_requests_and_drops_a_dead_member(
        world: L3World, server: ServerProcess) -> None:
    member = world.project()
    cidr = f"10.{random.randint(64, 127)}.{random.randint(0, 255)}.0/24"
    net, subnet = world.network(member, cidr)
    group = world.open_group(member)
    vms = [world.vm(member, net, group, tag) for tag in ("vm1", "vm2", "client")]
    http = {vm.name: _http_server(world, vm.namespace, vm.name) for vm in vms[:2]}
    conf = agent_conf(lbaas_config.register_opts, world.name, transport_url=RABBIT,
                      state_path=tempfile.mkdtemp(prefix="neutrino-lbaas-"),
                      health_interval=0.5)
    agent = LbaasAgent(conf, transport=world.rpc, server=server.rpc_name,
                       host_namespace=world.host).start()
    lb_id = None
    try:
        assert wait_for(lambda: "Loadbalancer agent" in world.alive(), WITHIN)
        response = member.post(f"{LB}/loadbalancers", {"loadbalancer": {
            "name": "web", "vip_subnet_id": subnet["id"]}})
        assert response.status_code == 201, response.text
        lb = response.json()["loadbalancer"]
        lb_id = lb["id"]
        assert wait_for(lambda: _active(member, lb["id"]), WITHIN)
        assert contract.namespace(lb["id"]) in privileged.namespaces()
        listener = _create(member, lb["id"], "listeners", "listener",
                           loadbalancer_id=lb["id"], protocol="HTTP", protocol_port=80)
        pool = _create(member, lb["id"], "pools", "pool", listener_id=listener["id"],
                       protocol="HTTP", lb_algorithm="ROUND_ROBIN")
        members = {vm.name: _create(member, lb["id"], f"pools/{pool['id']}/members",
                                    "member", address=vm.ip, protocol_port=HTTP_PORT,
                                    subnet_id=subnet["id"])
                   for vm in vms[:2]}
        _create(member, lb["id"], "healthmonitors", "healthmonitor", pool_id=pool["id"],
                type="HTTP", delay=1, timeout=1, max_retries=1, max_retries_down=1)

        client = vms[2].namespace
        assert wait_for(lambda: _get(client, lb["vip_address"], 1) != ["-"], WITHIN)
        answers = _get(client, lb["vip_address"], 10)
        assert sorted(set(answers)) == ["vm1", "vm2"], answers
        assert abs(answers.count("vm1") - answers.count("vm2")) <= 2, answers

        def statuses() -> dict[str, str]:
            tree = member.get(f"{LB}/loadbalancers/{lb['id']}/status").json()
            [li] = tree["statuses"]["loadbalancer"]["listeners"]
            return {m["id"]: m["operating_status"] for m in li["pools"][0]["members"]}
        assert wait_for(lambda: set(statuses().values()) == {"ONLINE"}, WITHIN), statuses()

        http["vm2"].kill()
        http["vm2"].wait(5)
        assert wait_for(lambda: statuses()[members["vm2"]["id"]] == "ERROR", WITHIN), \
            statuses()
        assert statuses()[members["vm1"]["id"]] == "ONLINE"
        got = member.get(f"{LB}/pools/{pool['id']}").json()["pool"]
        assert got["operating_status"] == "DEGRADED"
        assert _get(client, lb["vip_address"], 6) == ["vm1"] * 6

        response = member.delete(f"{LB}/loadbalancers/{lb['id']}", params={"cascade": "true"})
        assert response.status_code == 204, response.text
        assert wait_for(lambda: member.get(f"{LB}/loadbalancers/{lb['id']}"
                                           ).status_code == 404, WITHIN)
        assert wait_for(lambda: contract.namespace(lb["id"]) not in privileged.namespaces(),
                        WITHIN)
        lb_id = None
    finally:
        agent.stop()
        for leftover in agent.driver.owned():
            agent.driver.remove(leftover)
        if lb_id is not None:
            privileged.delete_namespace(contract.namespace(lb_id))
