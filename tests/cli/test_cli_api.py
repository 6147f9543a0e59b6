"""`neutrino status`, `topology` and `trace` against the session's real server (noauth):
a scenario of two project networks joined by a router with an external gateway, a
third network on its own, a floating IP, agents reported on two hosts."""

from __future__ import annotations

import random
import subprocess
import uuid
from typing import Any

import pytest

from neutrino.db.engine import Database
from server import BIN, Api, ServerProcess

from .conftest import Cli, Report, make_dead, new_host


def _cidr() -> str:
    return f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.0/24"


@pytest.fixture(scope="module")
def world(server: ServerProcess, report: Report, server_db: Database) -> dict[str, Any]:
    project = f"cli-{uuid.uuid4().hex[:12]}"
    admin = Api(server.url).as_project(project, ["admin"])
    hosts = {"alive": new_host(), "dead": new_host()}
    for host in hosts.values():
        assert report(host) == "new"
    assert report(hosts["alive"], "DHCP agent", "neutrino-dhcp-agent", networks=3,
                  subnets=3, ports=2) == "new"
    ext = admin.network(name="cli-public", **{"router:external": True})
    # An external range of its own: other tests float 203.0.113.x on their networks.
    ext_subnet = admin.subnet(ext["id"], f"100.{random.randint(64, 127)}."
                              f"{random.randint(0, 255)}.0/24", enable_dhcp=False)
    nets = {}
    for name in ("front", "back", "island"):
        net = admin.network(name=f"cli-{name}")
        nets[name] = (net, admin.subnet(net["id"], _cidr(), name=f"cli-{name}-subnet"))
    router = admin.create("router", name="cli-router",
                          external_gateway_info={"network_id": ext["id"]})
    for name in ("front", "back"):
        response = admin.put(f"routers/{router['id']}/add_router_interface",
                             {"subnet_id": nets[name][1]["id"]})
        assert response.status_code == 200, response.text
    web = admin.create("security_group", name="cli-web")
    admin.create("security_group_rule", security_group_id=web["id"], direction="ingress",
                 protocol="tcp", port_range_min=22, port_range_max=22,
                 remote_ip_prefix="0.0.0.0/0")
    bare = admin.create("security_group", name="cli-bare")

    def port(name: str, net: str, groups: list[str], host: str = hosts["alive"],
             **attrs: Any) -> dict:
        return admin.port(nets[net][0]["id"], name=f"cli-{name}", security_groups=groups,
                          device_owner="compute:nova", **{"binding:host_id": host},
                          **attrs)
    ports = {
        "client": port("client", "front", [web["id"]]),
        "web": port("web", "front", [web["id"]]),
        "closed": port("closed", "front", [bare["id"]]),
        "open": port("open", "front", [], port_security_enabled=False),
        "behind": port("behind", "back", [web["id"]]),
        "island": port("island", "island", [web["id"]]),
        "orphan": port("orphan", "front", [web["id"]], host=hosts["dead"]),
    }
    fip = admin.create("floatingip", floating_network_id=ext["id"],
                       port_id=ports["behind"]["id"])
    make_dead(server_db, hosts["dead"])
    return {"project": project, "hosts": hosts, "ext": ext, "ext_subnet": ext_subnet,
            "nets": nets, "router": router, "ports": ports, "fip": fip, "web": web,
            "bare": bare}


def _blocked(doc: dict) -> list[str]:
    return [h["detail"] for h in doc["hops"] if h["verdict"] == "blocked"]


def _hop(doc: dict, step: str) -> dict:
    return next(h for h in doc["hops"] if h["step"].startswith(step))


def test_status_shows_server_and_agents(cli: Cli, world: dict) -> None:
    status, doc, _ = cli("status")
    server = doc["server"]
    assert server["database"]["reachable"] is True and server["database"]["schema"]
    assert server["bus"] == {"driver": "fake", "hosts": [], "reachable": True,
                             "detail": "in-process bus: reaches this server process only"}
    assert server["version"] == "0.1.0"
    by_host = {(a["host"], a["agent_type"]): a for a in doc["agents"]}
    alive, dead = world["hosts"]["alive"], world["hosts"]["dead"]
    assert by_host[(alive, "Linux bridge agent")]["alive"] is True
    assert by_host[(dead, "Linux bridge agent")]["alive"] is False
    assert status == 1  # an agent is down


def test_status_table_says_what_agents_serve(cli: Cli, world: dict) -> None:
    _, text, _ = cli("status", fmt="table")
    alive = world["hosts"]["alive"]
    line = next(li for li in text.splitlines() if alive in li and "DHCP" in li)
    assert "networks 3, subnets 3, ports 2" in line and "alive" in line
    dead = next(li for li in text.splitlines() if world["hosts"]["dead"] in li)
    assert "DOWN" in dead


def test_status_endpoint_is_admin_only(server: ServerProcess) -> None:
    member = Api(server.url).as_project("someone", ["member"])
    response = member.get("/v2.0/neutrino/status")
    assert response.status_code == 403, response.text
    assert response.json()["NeutronError"]["type"] == "PolicyNotAuthorized"


def test_status_as_a_member_still_lists_what_it_can(cli: Cli) -> None:
    status, doc, _ = cli("status", "--roles", "member,reader",
                         project=f"p-{uuid.uuid4().hex}")
    # The status endpoint refuses; the agents list hides what a member may not see.
    assert "403" in doc["server"]["error"]
    assert doc["agents"] == [] and status == 1


def test_topology_tree_of_the_project(cli: Cli, world: dict) -> None:
    status, doc, _ = cli("topology", project=world["project"])
    assert status == 0
    tree = {node["label"]: node for node in doc["tree"]}
    front = tree["network cli-front [vxlan]"] if "network cli-front [vxlan]" in tree else \
        next(n for label, n in tree.items() if label.startswith("network cli-front"))
    labels = [c["label"] for c in front["children"]]
    assert any(label.startswith("subnet cli-front-subnet") for label in labels)
    assert any(label.startswith("port cli-client") for label in labels)
    # Router ports are drawn under the router, not as the network's ports.
    assert not any("router_interface" in label for label in labels)
    router = next(n for label, n in tree.items() if label == "router cli-router")
    kinds = [c["kind"] for c in router["children"]]
    assert kinds.count("interface") == 2 and kinds.count("gateway") == 1
    fip = next(c for c in router["children"] if c["kind"] == "floatingip")
    assert fip["label"].startswith(f"floating IP {world['fip']['floating_ip_address']} → ")
    assert "(port cli-behind)" in fip["label"]
    # The external network (another project's in general) is drawn too.
    assert any(label.startswith("network cli-public") for label in tree)
    behind = next(n for label, n in tree.items() if label.startswith("network cli-back"))
    assert any(f"← floating IP {world['fip']['floating_ip_address']}" in c["label"]
               for c in behind["children"])


def test_topology_draws_a_tree(cli: Cli, world: dict) -> None:
    status, text, _ = cli("topology", project=world["project"], fmt="table")
    assert status == 0
    assert text.startswith(f"project {world['project']}")
    assert "├── network cli-front" in text or "└── network cli-front" in text
    assert "router cli-router" in text


def test_trace_allowed_by_rule(cli: Cli, world: dict) -> None:
    ports = world["ports"]
    status, doc, _ = cli("trace", "cli-client", ports["web"]["fixed_ips"][0]["ip_address"],
                         "--protocol", "tcp", "--port", "22")
    assert doc["allowed"] is True and status == 0, doc
    ingress = _hop(doc, "ingress")
    assert ingress["verdict"] == "ok" and "of group cli-web allows ingress IPv4 tcp/22" \
        in ingress["detail"]
    assert any("same subnet" in h["detail"] for h in doc["hops"])


def test_trace_denied_by_missing_rule(cli: Cli, world: dict) -> None:
    closed = world["ports"]["closed"]
    client_ip = world["ports"]["client"]["fixed_ips"][0]["ip_address"]
    status, doc, _ = cli("trace", "cli-client", closed["id"], "--protocol", "tcp",
                         "--port", "22")
    assert status == 1 and doc["allowed"] is False
    assert _blocked(doc) == [f"no rule allows ingress tcp/22 from {client_ip} on port "
                             f"{closed['id']} (groups: cli-bare)"]


def test_trace_different_networks_without_router(cli: Cli, world: dict) -> None:
    status, doc, _ = cli("trace", "cli-client", "cli-island", "--protocol", "tcp",
                         "--port", "22")
    assert status == 1
    (why,) = _blocked(doc)
    assert why.startswith("no router connects subnet cli-front-subnet")
    assert "network cli-island" in why


def test_trace_through_router(cli: Cli, world: dict) -> None:
    status, doc, _ = cli("trace", "cli-client", "cli-behind", "--protocol", "tcp",
                         "--port", "22")
    assert status == 0, doc
    path = _hop(doc, "path")["detail"]
    front = world["nets"]["front"][1]
    assert path.startswith(f"router cli-router between {front['cidr']} "
                           f"({front['gateway_ip']})")
    assert _hop(doc, "route there")["verdict"] == "ok"


def test_trace_through_floating_ip(cli: Cli, world: dict) -> None:
    fip = world["fip"]["floating_ip_address"]
    status, doc, _ = cli("trace", "198.51.100.7", fip, "--protocol", "tcp", "--port", "22")
    assert status == 0, doc
    assert doc["destination"]["floating_ip"] == fip
    behind_ip = world["ports"]["behind"]["fixed_ips"][0]["ip_address"]
    assert any(f"DNAT on router cli-router: floating IP {fip} → {behind_ip}" == h["detail"]
               for h in doc["hops"])
    # From the front network, out through the gateway (SNAT) and back in.
    status, doc, _ = cli("trace", "cli-client", fip, "--protocol", "tcp", "--port", "22")
    gateway_ip = world["router"]["external_gateway_info"]["external_fixed_ips"][0][
        "ip_address"]
    assert any(f"leaves as the router's gateway address {gateway_ip}" in h["detail"]
               for h in doc["hops"]), doc


def test_trace_port_security_off(cli: Cli, world: dict) -> None:
    status, doc, _ = cli("trace", "cli-client", "cli-open", "--protocol", "udp",
                         "--port", "53")
    assert status == 0, doc
    assert _hop(doc, "ingress")["detail"] == \
        "port security off: no security groups, no filtering"


def test_trace_agent_down(cli: Cli, world: dict) -> None:
    status, doc, _ = cli("trace", "cli-client", "cli-orphan", "--protocol", "tcp",
                         "--port", "22")
    assert status == 1
    (why,) = _blocked(doc)
    assert why.startswith(f"Linux bridge agent on host {world['hosts']['dead']} is DOWN")


def test_trace_table(cli: Cli, world: dict) -> None:
    status, text, _ = cli("trace", "cli-client", "cli-closed", "--protocol", "tcp",
                          "--port", "22", fmt="table")
    assert status == 1
    assert "DENIED" in text.splitlines()[0] and "no rule allows ingress tcp/22" in text


def test_unknown_endpoint_is_an_error(cli: Cli, world: dict) -> None:
    status, _, err = cli("trace", "cli-client", "no-such-port")
    assert status == 2 and "no port no-such-port" in err


def test_console_script(server: ServerProcess, world: dict) -> None:
    """The installed `neutrino` entry point, as an operator runs it (env settings)."""
    env = {"NEUTRINO_NOAUTH": "1", "NEUTRINO_ENDPOINT": server.url, "PATH": "/usr/bin:/bin"}
    done = subprocess.run([str(BIN / "neutrino"), "trace", "cli-client", "cli-web",
                           "--protocol", "tcp", "--port", "22"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "ALLOWED" in done.stdout
    helped = subprocess.run([str(BIN / "neutrino"), "debug", "probe-create", "--help"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0 and "network id or name" in helped.stdout


def test_no_credentials_is_explained(server: ServerProcess) -> None:
    done = subprocess.run([str(BIN / "neutrino"), "status"], env={"PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "no credentials" in done.stderr and "--noauth" in done.stderr


def test_trace_to_a_floating_address_used_twice_names_both(cli: Cli, world: dict,
                                                            server: ServerProcess) -> None:
    admin = Api(server.url).as_project(world["project"], ["admin"])
    fip = world["fip"]["floating_ip_address"]
    other = admin.network(name="cli-public-2", **{"router:external": True})
    admin.subnet(other["id"], world["ext_subnet"]["cidr"], enable_dhcp=False)
    twin = admin.create("floatingip", floating_network_id=other["id"],
                        floating_ip_address=fip)
    try:
        status, _, err = cli("trace", "198.51.100.7", fip)
        assert status != 0
        assert f"{fip} is the floating IP of 2 ports" in err
        assert world["ports"]["behind"]["id"] in err and twin["id"] in err
    finally:
        assert admin.delete(f"floatingips/{twin['id']}").status_code == 204
        assert admin.delete(f"networks/{other['id']}").status_code == 204
