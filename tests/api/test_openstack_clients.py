"""Real OpenStack clients against Neutrino: openstacksdk (every backend) and the
`openstack` CLI (python-openstackclient, as a subprocess, on SQLite)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from openstack import exceptions as sdk_exc

from server import Api, ServerProcess

# The sdk warns about its own future API changes; they are not ours to fix.
pytestmark = [pytest.mark.filterwarnings("ignore::openstack.warnings.OpenStackDeprecationWarning"),
              pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK50Warning"),
              pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK60Warning")]

OPENSTACK_CLI = Path(sys.executable).parent / "openstack"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def net_with_subnet(conn):  # noqa: ANN001, ANN201 - sdk resources
    """A network with one /24 subnet; deleted (with its ports) afterwards."""
    net = conn.network.create_network(name=unique("sdk-net"))
    subnet = conn.network.create_subnet(network_id=net.id, cidr="10.77.0.0/24",
                                        ip_version=4, name=unique("sdk-sub"))
    yield net, subnet
    for port in conn.network.ports(network_id=net.id):
        conn.network.delete_port(port, ignore_missing=True)
    conn.network.delete_subnet(subnet, ignore_missing=True)
    conn.network.delete_network(net, ignore_missing=True)


# -- openstacksdk -------------------------------------------------------------


def test_sdk_network_subnet_port_lifecycle(conn) -> None:  # noqa: ANN001
    name = unique("sdk-life")
    net = conn.network.create_network(name=name, description="made by openstacksdk")
    assert net.id and net.name == name
    assert net.description == "made by openstacksdk"
    assert net.is_admin_state_up is True
    assert net.status == "ACTIVE"

    subnet = conn.network.create_subnet(
        network_id=net.id, name=f"{name}-sub", cidr="10.20.30.0/24", ip_version=4,
        gateway_ip="10.20.30.1",
        allocation_pools=[{"start": "10.20.30.10", "end": "10.20.30.100"}],
        dns_nameservers=["192.0.2.53", "192.0.2.54"])
    assert subnet.cidr == "10.20.30.0/24"
    assert subnet.gateway_ip == "10.20.30.1"
    assert subnet.allocation_pools == [{"start": "10.20.30.10", "end": "10.20.30.100"}]
    assert subnet.dns_nameservers == ["192.0.2.53", "192.0.2.54"]
    assert subnet.ip_version == 4
    assert subnet.is_dhcp_enabled is True

    port = conn.network.create_port(
        network_id=net.id, name=f"{name}-port",
        fixed_ips=[{"subnet_id": subnet.id, "ip_address": "10.20.30.42"}])
    assert port.fixed_ips == [{"subnet_id": subnet.id, "ip_address": "10.20.30.42"}]
    assert port.mac_address and port.mac_address.startswith("fa:16:3e:")
    auto = conn.network.create_port(network_id=net.id)
    [auto_ip] = auto.fixed_ips
    assert auto_ip["subnet_id"] == subnet.id
    assert 10 <= int(auto_ip["ip_address"].rsplit(".", 1)[1]) <= 100

    # get
    got = conn.network.get_network(net.id)
    assert got.name == name and got.subnet_ids == [subnet.id]
    assert conn.network.get_subnet(subnet.id).name == f"{name}-sub"
    assert conn.network.get_port(port.id).fixed_ips[0]["ip_address"] == "10.20.30.42"

    # list with filters
    assert [n.id for n in conn.network.networks(name=name)] == [net.id]
    assert {p.id for p in conn.network.ports(network_id=net.id)} == {port.id, auto.id}
    by_ip = list(conn.network.ports(fixed_ips=["ip_address=10.20.30.42"]))
    assert [p.id for p in by_ip] == [port.id]
    by_subnet = list(conn.network.ports(fixed_ips=[f"subnet_id={subnet.id}"]))
    assert {p.id for p in by_subnet} == {port.id, auto.id}
    assert [s.id for s in conn.network.subnets(network_id=net.id)] == [subnet.id]

    # find by name and by id
    assert conn.network.find_network(name).id == net.id
    assert conn.network.find_network(net.id).id == net.id
    assert conn.network.find_network(unique("no-such-net")) is None

    # update (the sdk updates the object it is given in place)
    revision = net.revision_number
    renamed = conn.network.update_network(net, name=f"{name}-renamed",
                                          admin_state_up=False)
    assert renamed.name == f"{name}-renamed"
    assert renamed.is_admin_state_up is False
    assert renamed.revision_number > revision
    down = conn.network.update_port(port, admin_state_up=False, name="down")
    assert down.is_admin_state_up is False and down.name == "down"
    assert conn.network.get_port(port.id).is_admin_state_up is False
    subnet2 = conn.network.update_subnet(subnet, dns_nameservers=["192.0.2.99"])
    assert subnet2.dns_nameservers == ["192.0.2.99"]

    # tags
    conn.network.set_tags(net, ["red", "blue"])
    assert sorted(conn.network.get_network(net.id).tags) == ["blue", "red"]
    conn.network.set_tags(port, ["vm"])
    assert conn.network.get_port(port.id).tags == ["vm"]
    tagged = list(conn.network.networks(tags="red", name=f"{name}-renamed"))
    assert [n.id for n in tagged] == [net.id]
    conn.network.set_tags(net, [])
    assert conn.network.get_network(net.id).tags == []
    # add_tags (tag-creation: POST .../tags) keeps what is there.
    conn.network.set_tags(net, ["red"])
    conn.network.add_tags(net, ["blue", "green"])
    assert sorted(conn.network.get_network(net.id).tags) == ["blue", "green", "red"]
    conn.network.add_tags(port, ["vm", "web"])
    assert sorted(conn.network.get_port(port.id).tags) == ["vm", "web"]
    conn.network.set_tags(net, [])

    # delete
    conn.network.delete_port(port)
    conn.network.delete_port(auto)
    with pytest.raises(sdk_exc.ResourceNotFound):
        conn.network.get_port(port.id)
    conn.network.delete_subnet(subnet)
    conn.network.delete_network(net)
    with pytest.raises(sdk_exc.ResourceNotFound):
        conn.network.get_network(net.id)
    assert conn.network.find_network(f"{name}-renamed") is None


def test_sdk_paginates_ports(conn, net_with_subnet) -> None:  # noqa: ANN001
    net, _subnet = net_with_subnet
    created = {conn.network.create_port(network_id=net.id, name=f"page-{i}").id
               for i in range(7)}
    # The sdk asks for limit=3 and follows ports_links (next) to the end.
    pages = list(conn.network.ports(network_id=net.id, limit=3, paginated=True))
    assert len(pages) == 7
    assert {p.id for p in pages} == created
    # Sorted pages, read back in order.
    ordered = list(conn.network.ports(network_id=net.id, limit=2, sort_key="name",
                                      sort_dir="desc"))
    assert [p.name for p in ordered] == [f"page-{i}" for i in range(6, -1, -1)]


def test_sdk_errors_map_to_exceptions(conn, net_with_subnet) -> None:  # noqa: ANN001
    net, subnet = net_with_subnet
    missing = str(uuid.uuid4())
    with pytest.raises(sdk_exc.ResourceNotFound):
        conn.network.get_network(missing)
    with pytest.raises(sdk_exc.ResourceNotFound):
        conn.network.get_port(missing)
    with pytest.raises(sdk_exc.ResourceNotFound):
        conn.network.delete_subnet(missing, ignore_missing=False)
    with pytest.raises(sdk_exc.ResourceNotFound):
        conn.network.update_network(missing, name="x")

    conn.network.create_port(network_id=net.id,
                             fixed_ips=[{"subnet_id": subnet.id, "ip_address": "10.77.0.9"}])
    with pytest.raises(sdk_exc.ConflictException) as conflict:
        conn.network.create_port(
            network_id=net.id, fixed_ips=[{"subnet_id": subnet.id,
                                           "ip_address": "10.77.0.9"}])
    assert "10.77.0.9" in str(conflict.value)
    with pytest.raises(sdk_exc.ConflictException):
        conn.network.delete_network(net)          # still has ports: NetworkInUse
    with pytest.raises(sdk_exc.ConflictException):
        conn.network.delete_subnet(subnet)        # still has addresses: SubnetInUse

    with pytest.raises(sdk_exc.BadRequestException):
        conn.network.create_subnet(network_id=net.id, cidr="not-a-cidr", ip_version=4)
    with pytest.raises(sdk_exc.BadRequestException):
        conn.network.create_port(network_id=net.id,
                                 fixed_ips=[{"ip_address": "192.168.250.1"}])
    with pytest.raises(sdk_exc.BadRequestException):
        conn.network.create_network(admin_state_up="sometimes")


def test_sdk_find_network_ambiguous_name(conn) -> None:  # noqa: ANN001
    name = unique("sdk-twin")
    first = conn.network.create_network(name=name)
    second = conn.network.create_network(name=name)
    try:
        with pytest.raises(sdk_exc.DuplicateResource):
            conn.network.find_network(name)
    finally:
        conn.network.delete_network(first)
        conn.network.delete_network(second)


# -- the openstack CLI ----------------------------------------------------------


@pytest.fixture(scope="module")
def cli_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A dedicated SQLite server: the CLI is slow to start, one backend is enough."""
    state = tmp_path_factory.mktemp("cli-server")
    with ServerProcess(state, f"sqlite:///{state / 'neutrino.sqlite'}") as proc:
        yield proc


class Cli:
    def __init__(self, url: str) -> None:
        self.url = url
        # No clouds.yaml or OS_* variables of the caller may leak in.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        self.env["OS_CLIENT_CONFIG_FILE"] = os.devnull

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(OPENSTACK_CLI), "--os-auth-type", "none", "--os-endpoint", self.url,
               *args]
        done = subprocess.run(cmd, capture_output=True, text=True, env=self.env,
                              timeout=120)
        if check:
            assert done.returncode == 0, f"{cmd}: {done.stdout}\n{done.stderr}"
        return done

    def json(self, *args: str) -> object:
        return json.loads(self.run(*args, "-f", "json").stdout)


def test_cli_network_subnet_port(cli_server: ServerProcess) -> None:
    cli = Cli(cli_server.url)
    name = unique("cli-net")
    net = cli.json("network", "create", "--description", "via the CLI", name)
    assert net["name"] == name
    assert net["description"] == "via the CLI"
    assert net["admin_state_up"] in (True, "UP")

    # The pool leaves out 10.9.0.77, asked for explicitly below, so the port with a
    # random address can never take it first.
    subnet = cli.json("subnet", "create", "--network", name, "--subnet-range",
                      "10.9.0.0/24", "--allocation-pool", "start=10.9.0.100,end=10.9.0.200",
                      "--dns-nameserver", "192.0.2.53", f"{name}-sub")
    assert subnet["cidr"] == "10.9.0.0/24"
    assert subnet["network_id"] == net["id"]
    assert subnet["gateway_ip"] == "10.9.0.1"

    port = cli.json("port", "create", "--network", name, f"{name}-port")
    assert port["network_id"] == net["id"]
    [fixed] = port["fixed_ips"]
    assert fixed["subnet_id"] == subnet["id"]
    assert fixed["ip_address"].startswith("10.9.0.")

    fixed_port = cli.json("port", "create", "--network", name, "--fixed-ip",
                          f"subnet={subnet['id']},ip-address=10.9.0.77", f"{name}-fixed")
    assert fixed_port["fixed_ips"] == [{"subnet_id": subnet["id"],
                                        "ip_address": "10.9.0.77"}]

    listed = cli.json("network", "list")
    mine = [n for n in listed if n["ID"] == net["id"]]
    assert len(mine) == 1 and mine[0]["Name"] == name
    assert mine[0]["Subnets"] == [subnet["id"]]

    ports = cli.json("port", "list", "--network", name)
    assert {p["ID"] for p in ports} == {port["id"], fixed_port["id"]}
    assert {p["Name"] for p in ports} == {f"{name}-port", f"{name}-fixed"}
    by_ip = cli.json("port", "list", "--fixed-ip", "ip-address=10.9.0.77")
    assert [p["ID"] for p in by_ip] == [fixed_port["id"]]

    shown = cli.json("port", "show", port["id"])
    assert shown["id"] == port["id"]
    assert shown["mac_address"] == port["mac_address"]
    assert shown["fixed_ips"] == port["fixed_ips"]

    cli.run("network", "set", "--name", f"{name}-renamed", name)
    renamed = cli.json("network", "show", net["id"])
    assert renamed["name"] == f"{name}-renamed"

    cli.run("port", "set", "--disable", "--name", "disabled", port["id"])
    disabled = cli.json("port", "show", port["id"])
    assert disabled["name"] == "disabled"
    assert disabled["admin_state_up"] in (False, "DOWN")

    missing = cli.run("port", "show", str(uuid.uuid4()), check=False)
    assert missing.returncode != 0
    assert "could not be found" in (missing.stderr + missing.stdout).lower() or \
        "no port found" in (missing.stderr + missing.stdout).lower()

    cli.run("port", "delete", port["id"], fixed_port["id"])
    assert cli.json("port", "list", "--network", net["id"]) == []
    cli.run("subnet", "delete", subnet["id"])
    cli.run("network", "delete", net["id"])
    assert all(n["ID"] != net["id"] for n in cli.json("network", "list"))


def test_cli_firewall_group(cli_server: ServerProcess) -> None:
    """FWaaS v2 (issue 16) through python-neutronclient's OSC plugin: a rule, a
    policy, a rule inserted, a group on a router interface (each CLI call costs
    about two seconds: what the API tests check is not repeated here)."""
    cli, api = Cli(cli_server.url), Api(cli_server.url)
    net = api.network(name=unique("fw-net"))
    subnet = api.subnet(net["id"], "10.19.0.0/24")
    router = api.create("router", name=unique("fw-router"))
    port = api.put(f"routers/{router['id']}/add_router_interface",
                   {"subnet_id": subnet["id"]}).json()["port_id"]
    icmp = api.post("fwaas/firewall_rules", {"firewall_rule": {
        "protocol": "icmp", "action": "allow"}}).json()["firewall_rule"]
    ssh = cli.json("firewall", "group", "rule", "create", "--protocol", "tcp",
                   "--destination-port", "22", "--action", "allow", unique("ssh"))
    assert (ssh["Protocol"], ssh["Destination Port"], ssh["Action"]) == \
        ("tcp", "22", "allow")
    policy_name = unique("fw-policy")
    policy = cli.json("firewall", "group", "policy", "create", "--firewall-rule",
                      ssh["ID"], policy_name)
    assert policy["Firewall Rules"] == [ssh["ID"]]
    cli.run("firewall", "group", "policy", "add", "rule", policy_name, icmp["id"],
            "--insert-after", ssh["ID"])
    group = cli.json("firewall", "group", "create", "--ingress-firewall-policy",
                     policy_name, "--port", port, unique("fw-group"))
    # No L3 agent here: the group waits for one.
    assert (group["Ports"], group["Status"]) == ([port], "PENDING_CREATE")
    assert group["Ingress Policy ID"] == policy["ID"]
    assert api.get(f"fwaas/firewall_policies/{policy['ID']}").json()[
        "firewall_policy"]["firewall_rules"] == [ssh["ID"], icmp["id"]]


def test_cli_network_log(cli_server: ServerProcess) -> None:
    """Security group logging (issue 14) through python-neutronclient's OSC plugin
    (openstacksdk has no log resource): loggable types, a log on a group, disabled,
    deleted."""
    cli, api = Cli(cli_server.url), Api(cli_server.url)
    assert {"Supported types": "security_group"} in cli.json(
        "network", "loggable", "resources", "list")
    group = api.create("security_group", name=unique("log-sg"))
    log = cli.json("network", "log", "create", "--resource-type", "security_group",
                   "--resource", group["id"], "--event", "DROP", unique("sg-log"))
    assert (log["Resource"], log["Event"], log["Enabled"]) == (group["id"], "DROP", True)
    cli.run("network", "log", "set", "--disable", log["ID"])
    assert api.get(f"log/logs/{log['ID']}").json()["log"]["enabled"] is False
    cli.run("network", "log", "delete", log["ID"])
    assert api.get(f"log/logs/{log['ID']}").status_code == 404


def test_cli_vpn(cli_server: ServerProcess) -> None:
    """VPNaaS (issue 16) through the `openstack vpn ...` commands: the two policies,
    a VPN service on a router with a gateway, endpoint groups and a site connection
    between them (each CLI call costs about two seconds: what the API tests check is
    not repeated here)."""
    cli, api = Cli(cli_server.url), Api(cli_server.url)
    ext = api.network(name=unique("vpn-ext"), **{"router:external": True})
    api.subnet(ext["id"], "203.0.113.0/24", enable_dhcp=False)
    net = api.network(name=unique("vpn-net"))
    subnet = api.subnet(net["id"], "10.29.0.0/24")
    router = api.create("router", name=unique("vpn-router"),
                        external_gateway_info={"network_id": ext["id"]})
    api.put(f"routers/{router['id']}/add_router_interface", {"subnet_id": subnet["id"]})
    ike_name = unique("ike")
    ike = cli.json("vpn", "ike", "policy", "create", "--ike-version", "v2", "--pfs",
                   "group14", ike_name)
    assert (ike["IKE Version"], ike["Perfect Forward Secrecy (PFS)"],
            ike["Encryption Algorithm"], ike["Lifetime"]) == (
        "v2", "group14", "aes-128", {"units": "seconds", "value": 3600})
    ipsec_name = unique("ipsec")
    ipsec = cli.json("vpn", "ipsec", "policy", "create", "--encryption-algorithm",
                     "aes-256", ipsec_name)
    assert (ipsec["Transform Protocol"], ipsec["Encapsulation Mode"]) == ("esp", "tunnel")
    service_name = unique("vpn")
    service = cli.json("vpn", "service", "create", "--router", router["id"],
                       service_name)
    gw_ip = api.get(f"routers/{router['id']}").json()["router"][
        "external_gateway_info"]["external_fixed_ips"][0]["ip_address"]
    assert (service["Status"], service["Ext v4 IP"], service["Subnet"]) == (
        "PENDING_CREATE", gw_ip, None)
    local_name, peer_name = unique("local"), unique("peer")
    local = cli.json("vpn", "endpoint", "group", "create", "--type", "subnet",
                     "--value", subnet["id"], local_name)
    assert (local["Type"], local["Endpoints"]) == ("subnet", [subnet["id"]])
    cli.run("vpn", "endpoint", "group", "create", "--type", "cidr", "--value",
            "10.30.0.0/24", peer_name)
    conn = cli.json("vpn", "ipsec", "site", "connection", "create", "--vpnservice",
                    service_name, "--ikepolicy", ike_name, "--ipsecpolicy", ipsec_name,
                    "--peer-address", "203.0.113.250", "--peer-id", "203.0.113.250",
                    "--psk", "secret", "--local-endpoint-group", local_name,
                    "--peer-endpoint-group", peer_name, "--mtu", "1400",
                    unique("conn"))
    assert (conn["Status"], conn["MTU"], conn["VPN Service"], conn["IKE Policy"],
            conn["Local Endpoint Group ID"], conn["DPD"]) == (
        "PENDING_CREATE", 1400, service["ID"], ike["ID"], local["ID"],
        {"action": "hold", "interval": 30, "timeout": 120})
