"""dns-integration on floating IPs: `dns_name` and `dns_domain`, set at create
(both or neither), checked and lowercased as upstream, stored and shown; and the
`dns-integration` / `dns-domain-ports` aliases."""

from __future__ import annotations

import openstack
import pytest
from l3_setup import external_network, floatingip, topology

from server import Api, ServerProcess, assert_error


def post_fip(api: Api, network_id: str, **attrs: object):  # noqa: ANN201
    return api.post("floatingips", {"floatingip": {"floating_network_id": network_id,
                                                   **attrs}})


def test_dns_name_and_domain_are_kept(own_project_admin: Api) -> None:
    api = own_project_admin
    ext, _ = external_network(api, "192.0.2.0/24")
    plain = floatingip(api, ext["id"])
    assert (plain["dns_name"], plain["dns_domain"]) == ("", "")
    fip = floatingip(api, ext["id"], dns_name="MyHost", dns_domain="Example.ORG.")
    assert (fip["dns_name"], fip["dns_domain"]) == ("myhost", "example.org.")
    assert api.get(f"floatingips/{fip['id']}").json()["floatingip"] == fip
    listed = api.get(f"floatingips?floating_network_id={ext['id']}&fields=id"
                     "&fields=dns_name&fields=dns_domain").json()["floatingips"]
    assert sorted(listed, key=lambda f: f["dns_name"]) == [
        {"id": plain["id"], "dns_name": "", "dns_domain": ""},
        {"id": fip["id"], "dns_name": "myhost", "dns_domain": "example.org."}]
    # Create only, as upstream.
    response = api.put(f"floatingips/{fip['id']}", {"floatingip": {"dns_name": "other"}})
    assert_error(response, 400, "HTTPBadRequest", "Cannot update read-only attribute "
                 "dns_name")
    # Neither a filter nor a sort key upstream.
    assert_error(api.get("floatingips?dns_name=myhost"), 400, "HTTPBadRequest")
    assert api.delete(f"floatingips/{fip['id']}").status_code == 204
    assert api.get(f"floatingips/{fip['id']}").status_code == 404


def test_associated_floating_ip_keeps_its_names(own_project_admin: Api) -> None:
    api = own_project_admin
    t = topology(api, api)
    port = api.port(t["net"]["id"])
    fip = floatingip(api, t["ext"]["id"], port_id=port["id"], dns_name="web",
                     dns_domain="example.com.")
    updated = api.put(f"floatingips/{fip['id']}", {"floatingip": {"port_id": None}})
    assert updated.status_code == 200, updated.text
    body = updated.json()["floatingip"]
    assert (body["port_id"], body["dns_name"], body["dns_domain"]) == (
        None, "web", "example.com.")


@pytest.mark.parametrize(("attrs", "message"), [
    ({"dns_name": "myhost"},
     "Bad floatingip request: dns_name cannot be specified without a dns_domain."),
    ({"dns_domain": "example.org."},
     "Bad floatingip request: dns_domain cannot be specified without a dns_name."),
])
def test_both_or_neither(own_project_admin: Api, attrs: dict, message: str) -> None:
    api = own_project_admin
    ext, _ = external_network(api, "192.0.2.0/24")
    assert_error(post_fip(api, ext["id"], **attrs), 400, "BadRequest", message)
    assert api.get(f"floatingips?floating_network_id={ext['id']}").json()[
        "floatingips"] == []


@pytest.mark.parametrize(("attrs", "message"), [
    ({"dns_name": "host.example.org.", "dns_domain": "example.org."},
     "Invalid input for dns_name. Reason: 'host.example.org.' is a FQDN. It should be "
     "a relative domain name."),
    ({"dns_name": "-host", "dns_domain": "example.org."},
     "Invalid input for dns_name. Reason: '-host' not a valid PQDN or FQDN. Reason: "
     "Name '-host' must not start or end with a hyphen."),
    ({"dns_name": "host", "dns_domain": "example.org"},
     "Invalid input for dns_domain. Reason: 'example.org' is not a FQDN."),
])
def test_malformed_names(own_project_admin: Api, attrs: dict, message: str) -> None:
    api = own_project_admin
    ext, _ = external_network(api, "192.0.2.0/24")
    assert_error(post_fip(api, ext["id"], **attrs), 400, "HTTPBadRequest", message)


def test_openstacksdk(server: ServerProcess, own_project_admin: Api) -> None:
    ext, _ = external_network(own_project_admin, "192.0.2.0/24")
    conn = openstack.connect(auth_type="none", auth={"endpoint": server.url})
    try:
        ip = conn.network.create_ip(floating_network_id=ext["id"], dns_name="sdk-host",
                                    dns_domain="example.net.")
        assert (ip.dns_name, ip.dns_domain) == ("sdk-host", "example.net.")
        fetched = conn.network.get_ip(ip.id)
        assert (fetched.dns_name, fetched.dns_domain) == ("sdk-host", "example.net.")
        conn.network.delete_ip(ip)
    finally:
        conn.close()


def test_extensions_listed(api: Api) -> None:
    aliases = [e["alias"] for e in api.get("extensions").json()["extensions"]]
    assert {"dns-integration", "dns-domain-ports"} <= set(aliases)
