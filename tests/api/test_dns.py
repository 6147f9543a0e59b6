"""dns-integration / dns-domain-ports: dns_name, dns_domain and dns_assignment of
ports, dns_domain of networks, with the default dns_domain option (port names are
ignored, as upstream) and with a real domain (a server of its own)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openstack
import pytest

from backends import database
from server import Api, ServerProcess, assert_error, post_port, put_port


@pytest.fixture(scope="module")
def example_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A server whose dns_domain is example.org (SQLite)."""
    state: Path = tmp_path_factory.mktemp("dns-server")
    with database("sqlite", state) as url, ServerProcess(
            state, url, extra_conf="dns_domain = example.org") as proc:
        yield Api(proc.url)


def test_network_dns_domain(own_project_admin: Api) -> None:
    api = own_project_admin
    net = api.network()
    assert net["dns_domain"] == ""
    net = api.network(dns_domain="Corp.Example.COM.")
    assert net["dns_domain"] == "corp.example.com."
    updated = api.put(f"networks/{net['id']}", {"network": {"dns_domain": "a.example."}})
    assert updated.json()["network"]["dns_domain"] == "a.example."
    listed = api.get("networks", params={"dns_domain": "a.example."}).json()["networks"]
    assert [n["id"] for n in listed] == [net["id"]]
    cleared = api.put(f"networks/{net['id']}", {"network": {"dns_domain": ""}})
    assert cleared.json()["network"]["dns_domain"] == ""
    response = api.post("networks", {"network": {"dns_domain": "no-dot.example"}})
    assert_error(response, 400, "HTTPBadRequest",
                 "Invalid input for dns_domain. Reason: 'no-dot.example' is not a FQDN.")


def test_default_domain_ignores_port_names(own_project_admin: Api) -> None:
    api = own_project_admin
    net = api.network()
    api.subnet(net["id"], "10.50.0.0/24")
    port = api.port(net["id"], dns_name="myvm", dns_domain="example.org.")
    ip = port["fixed_ips"][0]["ip_address"]
    host = "host-" + ip.replace(".", "-")
    assert port["dns_name"] == ""
    assert port["dns_domain"] == ""
    assert port["dns_assignment"] == [{"ip_address": ip, "hostname": host,
                                       "fqdn": f"{host}.openstacklocal."}]
    shown = api.get(f"ports/{port['id']}", params={"fields": "dns_assignment"}).json()
    assert shown["port"]["dns_assignment"][0]["hostname"] == host
    listed = api.get("ports", params={"id": port["id"], "fields": "dns_assignment"})
    assert listed.json()["ports"] == [{"dns_assignment": port["dns_assignment"]}]


@pytest.mark.parametrize(("name", "reason"), [
    ("-bad", "Name '-bad' must not start or end with a hyphen"),
    ("a_b", "Name 'a_b' must be 1-63 characters long, each of which can only be "
            "alphanumeric or a hyphen"),
    ("vm.42", "TLD '42' must not be all numeric"),
])
def test_malformed_dns_name(own_project_admin: Api, name: str, reason: str) -> None:
    net = own_project_admin.network()
    response = post_port(own_project_admin, net["id"], dns_name=name)
    assert_error(response, 400, "HTTPBadRequest",
                 f"Invalid input for dns_name. Reason: '{name}' not a valid PQDN or FQDN. "
                 f"Reason: {reason}.")
    assert_error(post_port(own_project_admin, net["id"], dns_name=7), 400, "InvalidInput",
                 "Invalid input for operation: Input value 7 must be string type.")


def test_names_with_a_domain(example_org: Api) -> None:
    api = example_org
    net = api.network()
    api.subnet(net["id"], "10.51.0.0/24")
    port = api.port(net["id"], dns_name="MyVM")
    ip = port["fixed_ips"][0]["ip_address"]
    assert port["dns_name"] == "myvm"
    assert port["dns_assignment"] == [{"ip_address": ip, "hostname": "myvm",
                                       "fqdn": "myvm.example.org."}]
    assert api.get(f"ports/{port['id']}").json()["port"]["dns_name"] == "myvm"
    # A FQDN must end with the option's domain.
    response = put_port(api, port["id"], dns_name="vm.other.org.")
    assert_error(response, 400, "HTTPBadRequest",
                 "Invalid input for dns_name. Reason: The dns_name passed is a FQDN. Its "
                 "higher level labels must be equal to the dns_domain option in "
                 "neutron.conf, that has been set to 'example.org'. It must also include "
                 "one or more valid DNS labels to the left of 'example.org'.")
    updated = put_port(api, port["id"], dns_name="vm2.example.org.",
                       dns_domain="zone.example.")
    assert updated.status_code == 200, updated.text
    body = updated.json()["port"]
    assert (body["dns_name"], body["dns_domain"]) == ("vm2.example.org.", "zone.example.")
    assert body["dns_assignment"][0]["fqdn"] == "vm2.example.org."
    listed = api.get("ports", params={"dns_name": "vm2.example.org."}).json()["ports"]
    assert [p["id"] for p in listed] == [port["id"]]
    cleared = put_port(api, port["id"], dns_name="").json()["port"]
    assert cleared["dns_assignment"][0]["hostname"] == "host-" + ip.replace(".", "-")
    assert cleared["dns_domain"] == "zone.example."
    # A port without a name matches the empty-name filter.
    other = api.port(net["id"])
    unnamed = {p["id"] for p in api.get("ports", params={"dns_name": ""}).json()["ports"]}
    assert {port["id"], other["id"]} <= unnamed


def test_fixed_ip_change_moves_the_assignment(example_org: Api) -> None:
    api = example_org
    net = api.network()
    subnet = api.subnet(net["id"], "10.52.0.0/24")
    port = api.port(net["id"], dns_name="web")
    moved = put_port(api, port["id"], fixed_ips=[{"subnet_id": subnet["id"],
                                                  "ip_address": "10.52.0.77"}])
    assert moved.json()["port"]["dns_assignment"] == [
        {"ip_address": "10.52.0.77", "hostname": "web", "fqdn": "web.example.org."}]


def test_openstacksdk_sets_dns_name(example_org: Api) -> None:
    conn = openstack.connect(auth_type="none", auth={"endpoint": example_org.base_url})
    try:
        net = conn.network.create_network(dns_domain="sdk.example.")
        port = conn.network.create_port(network_id=net.id, dns_name="sdkvm")
        assert port.dns_name == "sdkvm"
        assert conn.network.get_network(net.id).dns_domain == "sdk.example."
        port = conn.network.update_port(port, dns_name="sdkvm2")
        assert conn.network.get_port(port.id).dns_name == "sdkvm2"
        conn.network.delete_port(port.id)
        conn.network.delete_network(net.id)
    finally:
        conn.close()
