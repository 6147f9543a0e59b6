"""The router NAT table's rendering (agent/l3/nat.py, pure): exact tables for
representative routers, what is left out and when, the digest, the mappings read
back from the kernel's listing and the tracked connections to cut."""

from __future__ import annotations

import ipaddress
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from neutrino.agent.firewall.conntrack import Entry
from neutrino.agent.l3 import nat

ROUTER = "11111111-2222-3333-4444-555555555555"
GW_PORT = "99999999-8888-7777-6666-555555555555"
QG = "qg-99999999-88"
IF_PORT = "aaaaaaaa-8888-7777-6666-555555555555"
NO_METADATA = nat.NatSettings(enable_metadata_proxy=False)
METADATA = nat.NatSettings(enable_metadata_proxy=True)


def fixed(ip: str, cidr: str, gateway: str | None = None) -> dict:
    net = ipaddress.ip_network(cidr)
    return {"subnet_id": "s-" + cidr, "ip_address": ip, "cidr": cidr,
            "prefixlen": net.prefixlen, "ip_version": net.version, "gateway_ip": gateway}


def interface(*ips: dict, port: str = IF_PORT) -> dict:
    return {"port_id": port, "device": "qr-" + port[:11], "network_id": "n",
            "mac_address": "fa:16:3e:00:00:01", "mtu": 1450, "revision_number": 1,
            "fixed_ips": list(ips)}


def fip(floating: str, fixed_ip: str | None, fid: str | None = None) -> dict:
    return {"id": fid or f"fip-{floating}", "floating_ip_address": floating,
            "fixed_ip_address": fixed_ip, "port_id": "p" if fixed_ip else None,
            "status": "DOWN", "revision_number": 1}


def router(gateway: str | None = "172.24.4.67", snat: bool = True,
           interfaces: list | None = None, fips: list | None = None) -> dict:
    gw = None
    if gateway is not None:
        gw = {"port_id": GW_PORT, "device": QG, "network_id": "ext",
              "mac_address": "fa:16:3e:00:00:99", "mtu": 1500, "revision_number": 1,
              "fixed_ips": [fixed(gateway, "172.24.4.0/24", "172.24.4.1")]}
    return {"id": ROUTER, "revision_number": 1, "admin_state_up": True,
            "enable_snat": snat, "gateway": gw,
            "interfaces": interfaces if interfaces is not None else [
                interface(fixed("10.0.0.1", "10.0.0.0/24", "10.0.0.1"))],
            "routes": [], "floating_ips": fips or []}


def rendered(r: dict, s: nat.NatSettings = NO_METADATA) -> nat.NatTable:
    table = nat.render(r, s)
    assert table is not None
    return table


# -- exact tables ----------------------------------------------------------------------


def test_gateway_snat_and_a_floating_ip() -> None:
    table = rendered(router(fips=[fip("172.24.4.76", "10.0.0.117")]))
    assert table.text == (
        "table ip neutrino-nat {\n"
        f'\tcomment "{table.comment}"\n'
        "\tchain prerouting {\n"
        "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
        "\t\tip daddr 172.24.4.76 dnat to 10.0.0.117\n"
        "\t}\n"
        "\tchain output {\n"
        "\t\ttype nat hook output priority -100; policy accept;\n"
        "\t\tip daddr 172.24.4.76 dnat to 10.0.0.117\n"
        "\t}\n"
        "\tchain postrouting {\n"
        "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
        f'\t\toifname != "{QG}" ct status != dnat accept\n'
        "\t\tip saddr 10.0.0.117 snat to 172.24.4.76\n"
        f'\t\toifname "{QG}" snat to 172.24.4.67\n'
        f'\t\tiifname != "{QG}" ct status dnat snat to 172.24.4.67\n'
        "\t}\n"
        "}\n")
    assert table.comment.startswith("neutrino sha256=")
    assert len(table.comment) == len("neutrino sha256=") + 16
    assert table.mappings == {"172.24.4.76": "10.0.0.117"}


def test_gateway_only_snat_without_floating_ips() -> None:
    assert nat.chains(router(), NO_METADATA) == {"postrouting": [
        f'oifname != "{QG}" ct status != dnat accept',
        f'oifname "{QG}" snat to 172.24.4.67',
        f'iifname != "{QG}" ct status dnat snat to 172.24.4.67']}


def test_enable_snat_false_keeps_floating_ips_and_the_internal_accept() -> None:
    chains = nat.chains(router(snat=False, fips=[fip("172.24.4.76", "10.0.0.117")]),
                        NO_METADATA)
    assert chains["postrouting"] == [f'oifname != "{QG}" ct status != dnat accept',
                                     "ip saddr 10.0.0.117 snat to 172.24.4.76"]
    assert chains["prerouting"] == ["ip daddr 172.24.4.76 dnat to 10.0.0.117"]
    assert nat.render(router(snat=False), NO_METADATA) is not None  # the accept rule


def test_metadata_redirect_only_when_enabled_and_with_an_ipv4_interface() -> None:
    rule = ('iifname "qr-*" ip daddr 169.254.169.254 tcp dport 80 redirect to :9697')
    guard = ['iifname "qr-*" ct status dnat tcp dport 9697 accept', "tcp dport 9697 drop"]
    assert nat.chains(router(gateway=None), METADATA) == {"prerouting": [rule],
                                                          "input": guard}
    assert nat.render(router(gateway=None), NO_METADATA) is None
    other_port = nat.NatSettings(enable_metadata_proxy=True, metadata_port=8775)
    assert nat.chains(router(gateway=None), other_port)["prerouting"] == [
        rule.replace(":9697", ":8775")]
    assert nat.chains(router(gateway=None), other_port)["input"] == [
        g.replace("9697", "8775") for g in guard]
    # No IPv4 interface: no redirect, but the proxy (it runs in every router
    # namespace) is still closed to everything else.
    v6_only = router(gateway=None, interfaces=[
        interface(fixed("2001:db8::1", "2001:db8::/64", "2001:db8::1"))])
    assert nat.chains(v6_only, METADATA) == {"input": guard}
    assert nat.render(v6_only, NO_METADATA) is None
    # Before the floating IPs: the metadata address is never a floating one.
    chains = nat.chains(router(fips=[fip("172.24.4.76", "10.0.0.117")]), METADATA)
    assert chains["prerouting"] == [rule, "ip daddr 172.24.4.76 dnat to 10.0.0.117"]
    assert chains["output"] == ["ip daddr 172.24.4.76 dnat to 10.0.0.117"]


def test_no_gateway_no_table_and_floating_ips_are_not_carried() -> None:
    r = router(gateway=None, fips=[fip("172.24.4.76", "10.0.0.117")])
    assert nat.render(r, NO_METADATA) is None
    assert nat.floating_mappings(r) == {}


def test_ipv6_only_gateway_gets_no_ipv4_nat() -> None:
    r = router(fips=[fip("172.24.4.76", "10.0.0.117")])
    r["gateway"]["fixed_ips"] = [fixed("2001:db8:ff::5", "2001:db8:ff::/64",
                                       "2001:db8:ff::1")]
    assert nat.gateway_address(r) is None
    assert nat.render(r, NO_METADATA) is None


def test_unassociated_or_ipv6_floating_ips_are_left_out() -> None:
    r = router(fips=[fip("172.24.4.80", None), fip("172.24.4.81", "2001:db8::5"),
                     fip("172.24.4.9", "10.0.0.9")])
    assert nat.floating_mappings(r) == {"172.24.4.9": "10.0.0.9"}


def test_floating_ips_in_numeric_order_whatever_the_input_order() -> None:
    fips = [fip(f"172.24.4.{n}", f"10.0.0.{n}") for n in (100, 9, 76, 10)]
    table = rendered(router(fips=fips))
    assert list(table.mappings) == ["172.24.4.9", "172.24.4.10", "172.24.4.76",
                                    "172.24.4.100"]
    assert rendered(router(fips=list(reversed(fips)))).text == table.text


def test_gateway_address_is_the_first_ipv4_of_the_gateway() -> None:
    r = router()
    r["gateway"]["fixed_ips"] = [fixed("2001:db8:ff::5", "2001:db8:ff::/64"),
                                 fixed("172.24.4.70", "172.24.4.0/24")]
    assert nat.gateway_address(r) == "172.24.4.70"


def test_device_name_from_port_when_the_state_names_none() -> None:
    r = router()
    del r["gateway"]["device"]
    assert nat.gateway_device(r) == QG


def test_batches_replace_and_delete_atomically() -> None:
    table = rendered(router())
    assert nat.replace_batch(table) == (
        "table ip neutrino-nat\ndelete table ip neutrino-nat\n" + table.text)
    assert nat.delete_batch() == "table ip neutrino-nat\ndelete table ip neutrino-nat\n"


# -- digest ----------------------------------------------------------------------------


fips_strategy = st.lists(st.tuples(st.integers(2, 254), st.integers(2, 254)),
                         max_size=8, unique_by=lambda t: t[0])


@settings(max_examples=60, deadline=None)
@given(fips_strategy, fips_strategy, st.booleans(), st.booleans())
def test_the_digest_follows_the_content(a: list, b: list, snat: bool, metadata: bool
                                        ) -> None:
    def make(pairs: list) -> dict:
        return router(snat=snat, fips=[fip(f"172.24.4.{f}", f"10.0.0.{x}")
                                       for f, x in pairs])
    s = nat.NatSettings(enable_metadata_proxy=metadata)
    ta, tb = rendered(make(a), s), rendered(make(b), s)
    assert (ta.text == tb.text) == (ta.comment == tb.comment)
    shuffled = list(a)
    random.shuffle(shuffled)
    assert rendered(make(shuffled), s).text == ta.text
    # Every mapping has its DNAT in prerouting and output and its SNAT.
    for floating, fixed_ip in ta.mappings.items():
        assert ta.text.count(f"ip daddr {floating} dnat to {fixed_ip}\n") == 2
        assert f"ip saddr {fixed_ip} snat to {floating}\n" in ta.text
    assert (f'oifname "{QG}" snat to 172.24.4.67' in ta.text) == snat


# -- the kernel's listing ------------------------------------------------------------------


LISTING = """table ip neutrino-nat {
\tcomment "neutrino sha256=0123456789abcdef"
\tchain prerouting {
\t\ttype nat hook prerouting priority dstnat; policy accept;
\t\tip daddr 172.24.4.76 dnat to 10.0.0.117
\t\tip daddr 172.24.4.77 dnat to 10.0.0.118
\t}

\tchain postrouting {
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\tip saddr 10.0.0.117 snat to 172.24.4.76
\t}
}
"""


def test_comment_and_mappings_read_from_the_listing() -> None:
    assert nat.comment(LISTING) == "neutrino sha256=0123456789abcdef"
    assert nat.comment(None) is None
    assert nat.comment("table ip neutrino-nat {\n\tchain x {\n\t}\n}\n") == ""
    assert nat.mappings(LISTING) == {"172.24.4.76": "10.0.0.117",
                                     "172.24.4.77": "10.0.0.118"}
    assert nat.mappings(None) == {}


def test_the_kernel_prints_what_we_render() -> None:
    """nft prints rules as we write them (tables from the kernel differ only by a
    blank line between chains): the mappings read back are the rendered ones."""
    table = rendered(router(fips=[fip("172.24.4.76", "10.0.0.117")]))
    listing = table.text.replace("\t}\n\tchain", "\t}\n\n\tchain")
    assert nat.comment(listing) == table.comment
    assert nat.mappings(listing) == dict(table.mappings)


def test_cut_mappings_are_those_gone_or_moved() -> None:
    old = {"172.24.4.76": "10.0.0.117", "172.24.4.77": "10.0.0.118",
           "172.24.4.78": "10.0.0.119"}
    new = {"172.24.4.76": "10.0.0.117", "172.24.4.77": "10.0.0.200",
           "172.24.4.79": "10.0.0.119"}
    assert nat.cut_mappings(old, new) == {"172.24.4.77": "10.0.0.118",
                                          "172.24.4.78": "10.0.0.119"}
    assert nat.cut_mappings(old, old) == {}
    assert nat.addresses_to_list({"172.24.4.77": "10.0.0.118"}) == [
        "10.0.0.118", "172.24.4.77"]


def test_connections_to_cut() -> None:
    internal = [ipaddress.ip_network("10.0.0.0/24"), ipaddress.ip_network("10.0.1.0/24")]
    cut = {"172.24.4.76": "10.0.0.117"}
    inbound = Entry(4, 6, "172.24.4.1", "172.24.4.76", 40000, 22)
    outbound = Entry(4, 6, "10.0.0.117", "192.0.2.10", 40001, 80)
    east_west = Entry(4, 6, "10.0.0.117", "10.0.1.5", 40002, 80)   # not NATed: kept
    other = Entry(4, 1, "172.24.4.1", "172.24.4.67", icmp_type=8, icmp_id=3)
    v6 = Entry(6, 6, "2001:db8::1", "2001:db8::2", 1, 2)
    entries = [inbound, outbound, east_west, other, v6, inbound]
    assert nat.connections_to_cut(entries, cut, internal) == [inbound, outbound]
    assert nat.connections_to_cut(entries, {}, internal) == []
