"""FWaaS v2's router table (agent/l3/fwaas.py, pure): each rule field rendered,
verdicts, directions, admin down, groups without policy or on foreign ports, the
exact table, the digest, and the statuses to report."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neutrino.agent.firewall import conntrack
from neutrino.agent.l3 import fwaas

PORT_A, PORT_B = "aaaaaaaa-1111-2222-3333-444444444444", "bbbbbbbb-1111-2222-3333-444444444444"
QR_A, QR_B = "qr-aaaaaaaa-11", "qr-bbbbbbbb-11"
G1, G2 = "11111111-0000-0000-0000-000000000001", "22222222-0000-0000-0000-000000000002"


def rule(**attrs: object) -> dict:
    return {"id": "r", "protocol": None, "ip_version": 4, "source_ip_address": None,
            "destination_ip_address": None, "source_port": None,
            "destination_port": None, "action": "allow", **attrs}


def group(gid: str = G1, ports: tuple[str, ...] = (PORT_A,), ingress: list | None = None,
          egress: list | None = None, up: bool = True, status: str = "PENDING_CREATE"
          ) -> dict:
    return {"id": gid, "status": status, "admin_state_up": up, "ports": list(ports),
            "ingress_rules": ingress, "egress_rules": egress}


def router(*groups: dict) -> dict:
    return {"id": "r1", "interfaces": [{"port_id": PORT_A, "device": QR_A},
                                       {"port_id": PORT_B, "device": QR_B}],
            "firewall_groups": list(groups)}


@pytest.mark.parametrize(("attrs", "text"), [
    ({}, "meta nfproto ipv4 accept"),
    ({"ip_version": 6}, "meta nfproto ipv6 accept"),
    ({"action": "deny"}, "meta nfproto ipv4 drop"),
    ({"action": "reject"}, "meta nfproto ipv4 reject"),
    ({"protocol": "tcp"}, "meta nfproto ipv4 meta l4proto tcp accept"),
    ({"protocol": "udp", "destination_port": "53"},
     "meta nfproto ipv4 meta l4proto udp udp dport 53 accept"),
    ({"protocol": "tcp", "source_port": "1000:2000", "destination_port": "80:80"},
     "meta nfproto ipv4 meta l4proto tcp tcp sport 1000-2000 tcp dport 80 accept"),
    ({"protocol": "icmp"}, "meta nfproto ipv4 meta l4proto icmp accept"),
    # Upstream: icmp in an IPv6 rule is ICMPv6.
    ({"protocol": "icmp", "ip_version": 6}, "meta nfproto ipv6 meta l4proto ipv6-icmp accept"),
    ({"protocol": "ipv6-icmp", "ip_version": 6},
     "meta nfproto ipv6 meta l4proto ipv6-icmp accept"),
    ({"source_ip_address": "10.0.0.7"}, "meta nfproto ipv4 ip saddr 10.0.0.7/32 accept"),
    # Host bits are cleared (nft refuses them).
    ({"source_ip_address": "10.0.0.7/24", "destination_ip_address": "192.0.2.0/25"},
     "meta nfproto ipv4 ip saddr 10.0.0.0/24 ip daddr 192.0.2.0/25 accept"),
    ({"ip_version": 6, "destination_ip_address": "2001:db8::1/64"},
     "meta nfproto ipv6 ip6 daddr 2001:db8::/64 accept"),
])
def test_rule_text(attrs: dict, text: str) -> None:
    assert fwaas.rule_text(rule(**attrs)) == text


def test_a_rule_of_the_other_version_matches_nothing() -> None:
    assert fwaas.rule_text(rule(ip_version=6, source_ip_address="10.0.0.1")) is None
    chain = fwaas.group_chain([rule(ip_version=6, source_ip_address="10.0.0.1")])
    assert chain == ["ct state invalid drop", "ct state established,related accept",
                     "drop"]


IN_RULES = ["ct state invalid drop", "ct state established,related accept",
            "meta nfproto ipv4 meta l4proto icmp accept", "meta nfproto ipv4 drop", "drop"]
OUT_RULES = ["ct state invalid drop", "ct state established,related accept", "drop"]


def digest(rules: list[str]) -> str:
    """A group chain's comment: the digest of its rules."""
    return "neutrino sha256=" + hashlib.sha256("\n".join(rules).encode()).hexdigest()[:16]


def test_the_whole_table() -> None:
    table = fwaas.render(router(group(ingress=[rule(protocol="icmp"),
                                               rule(action="deny")])))
    assert table is not None
    body = (
        "\tchain from-ports {\n"
        "\t\ttype filter hook forward priority -1; policy accept;\n"
        f'\t\tiifname vmap {{ "{QR_A}" : jump g-{G1}-out }}\n'
        "\t}\n"
        "\tchain to-ports {\n"
        "\t\ttype filter hook forward priority 0; policy accept;\n"
        f'\t\toifname vmap {{ "{QR_A}" : jump g-{G1}-in }}\n'
        "\t}\n"
        f"\tchain g-{G1}-in {{\n"
        f'\t\tcomment "{digest(IN_RULES)}"\n'
        "\t\tct state invalid drop\n"
        "\t\tct state established,related accept\n"
        "\t\tmeta nfproto ipv4 meta l4proto icmp accept\n"
        "\t\tmeta nfproto ipv4 drop\n"
        "\t\tdrop\n"
        "\t}\n"
        f"\tchain g-{G1}-out {{\n"
        f'\t\tcomment "{digest(OUT_RULES)}"\n'
        "\t\tct state invalid drop\n"
        "\t\tct state established,related accept\n"
        "\t\tdrop\n"
        "\t}\n")
    assert table.text == (f'table inet neutrino-fwaas {{\n\tcomment "{table.comment}"\n'
                          f"{body}}}\n")
    assert table.comment.startswith("neutrino sha256=") and len(table.comment) == 32
    assert table.statuses == {G1: "ACTIVE"}
    assert fwaas.replace_batch(table) == ("table inet neutrino-fwaas\ndelete table inet "
                                          "neutrino-fwaas\n" + table.text)


def test_directions_follow_upstream() -> None:
    """Ingress: leaving the router to the port (oifname); egress: entering from it."""
    chains = fwaas.chains(router(group(ingress=[rule(protocol="tcp")],
                                       egress=[rule(protocol="udp")])))
    assert chains["to-ports"] == [f'oifname vmap {{ "{QR_A}" : jump g-{G1}-in }}']
    assert chains["from-ports"] == [f'iifname vmap {{ "{QR_A}" : jump g-{G1}-out }}']
    assert "meta nfproto ipv4 meta l4proto tcp accept" in chains[f"g-{G1}-in"]
    assert "meta nfproto ipv4 meta l4proto udp accept" in chains[f"g-{G1}-out"]


def test_admin_down_drops_everything_on_its_ports() -> None:
    table = fwaas.render(router(group(ingress=[rule()], up=False, status="ACTIVE")))
    assert table is not None
    assert fwaas.chains(router(group(ingress=[rule()], up=False))) == {
        "from-ports": [f'iifname vmap {{ "{QR_A}" : drop }}'],
        "to-ports": [f'oifname vmap {{ "{QR_A}" : drop }}']}
    assert table.statuses == {G1: "DOWN"}
    # Down without any policy still drops (upstream's default policy).
    assert fwaas.render(router(group(up=False))) is not None


def test_nothing_enforced_means_no_table() -> None:
    assert fwaas.render(router()) is None
    assert fwaas.render({"id": "r1", "interfaces": []}) is None
    # Neither policy: INACTIVE upstream, nothing to enforce.
    assert fwaas.render(router(group())) is None
    # Ports not on this router (another router's, or gone meanwhile).
    assert fwaas.render(router(group(ports=("cccccccc-1111-2222-3333-444444444444",),
                                     ingress=[rule()]))) is None


def test_two_groups_two_ports_sorted() -> None:
    chains = fwaas.chains(router(group(G2, ports=(PORT_B,), egress=[]),
                                 group(G1, ports=(PORT_A,), ingress=[])))
    assert chains["from-ports"] == [
        f'iifname vmap {{ "{QR_A}" : jump g-{G1}-out, "{QR_B}" : jump g-{G2}-out }}']
    assert list(chains) == ["from-ports", "to-ports", f"g-{G1}-in", f"g-{G1}-out",
                            f"g-{G2}-in", f"g-{G2}-out"]


def test_reports_only_what_changed() -> None:
    r = router(group(ingress=[rule()], status="PENDING_UPDATE"),
               group(G2, ports=(PORT_B,), ingress=[rule()], status="ACTIVE"))
    table = fwaas.render(r)
    assert fwaas.reports(r, table) == {G1: ("PENDING_UPDATE", "ACTIVE")}
    # A group this router does not enforce is not reported (its status is not ours).
    r = router(group(status="INACTIVE"))
    assert fwaas.reports(r, fwaas.render(r)) == {}


def test_the_digest_follows_the_content() -> None:
    one = fwaas.render(router(group(ingress=[rule(protocol="tcp")])))
    same = fwaas.render(router(group(ingress=[rule(protocol="tcp")], status="ACTIVE")))
    other = fwaas.render(router(group(ingress=[rule(protocol="udp")])))
    assert one is not None and same is not None and other is not None
    assert one.comment == same.comment != other.comment


_RULES = st.builds(
    rule, protocol=st.sampled_from([None, "tcp", "udp", "icmp", "ipv6-icmp"]),
    ip_version=st.sampled_from([4, 6]),
    action=st.sampled_from(["allow", "deny", "reject"]),
    destination_port=st.one_of(st.none(), st.integers(0, 65535).map(str)),
    source_ip_address=st.one_of(st.none(), st.sampled_from(
        ["10.1.2.3", "10.0.0.0/8", "2001:db8::/48", "::1"])))


@settings(max_examples=150, deadline=None)
@given(st.lists(_RULES, max_size=6), st.lists(_RULES, max_size=6), st.booleans())
def test_any_group_renders_a_complete_chain_per_direction(
        ingress: list, egress: list, up: bool) -> None:
    table = fwaas.render(router(group(ingress=ingress, egress=egress, up=up)))
    assert table is not None
    text = table.text
    assert text.count("{") == text.count("}")
    if up:
        # Each direction ends in drop, after the stateful lines and its rules in order.
        for name, rules in ((f"g-{G1}-in", ingress), (f"g-{G1}-out", egress)):
            body = fwaas.chains(router(group(ingress=ingress, egress=egress)))[name]
            assert body[:2] == ["ct state invalid drop",
                                "ct state established,related accept"]
            assert body[-1] == "drop"
            assert len(body) == 3 + sum(1 for r in rules if fwaas.rule_text(r))
    else:
        assert "jump" not in text


# -- which ports changed, and their connections -----------------------------------------

def router_with_addresses(*groups: dict) -> dict:
    r = router(*groups)
    r["interfaces"][0]["fixed_ips"] = [{"ip_address": "10.0.1.1", "cidr": "10.0.1.0/24"},
                                       {"ip_address": "2001:db8:1::1",
                                        "cidr": "2001:db8:1::/64"}]
    r["interfaces"][1]["fixed_ips"] = [{"ip_address": "10.0.2.1", "cidr": "10.0.2.0/24"}]
    r["floating_ips"] = [{"floating_ip_address": "172.24.4.10", "fixed_ip_address": "10.0.1.5"},
                         {"floating_ip_address": "172.24.4.11", "fixed_ip_address": "10.0.2.5"}]
    return r


def test_the_kernels_listing_gives_each_ports_filtering() -> None:
    table = fwaas.render(router(group(ingress=[rule(protocol="icmp")]),
                                group(G2, ports=(PORT_B,), ingress=[rule()], up=False)))
    assert table is not None
    assert table.ports == {QR_A: fwaas.port_key(digest(OUT_RULES),
                                                digest(table_chain(table, "in"))),
                           QR_B: fwaas.port_key("drop", "drop")}
    assert fwaas.listed_ports(table.text) == table.ports
    # As `nft list table` prints it: priorities named, rules shortened, blank lines.
    listing = table.text.replace("priority -1;", "priority filter - 1;").replace(
        "meta nfproto ipv4 meta l4proto icmp accept", "ip protocol icmp accept").replace(
        "\t}\n\tchain", "\t}\n\n\tchain")
    assert fwaas.listed_ports(listing) == table.ports
    assert fwaas.listed_ports(None) == {}


def table_chain(table: fwaas.FirewallTable, direction: str) -> list[str]:
    lines = table.text.split(f"chain g-{G1}-{direction} {{\n")[1].split("\t}")[0]
    return [line.strip() for line in lines.splitlines() if line.strip()
            and not line.strip().startswith("comment")]


def test_only_the_ports_whose_filtering_changed() -> None:
    before = fwaas.render(router(group(ingress=[rule(protocol="tcp")]),
                                 group(G2, ports=(PORT_B,), ingress=[rule()])))
    assert before is not None
    old = fwaas.listed_ports(before.text)
    # G1's rules change: only its port; the same table: none.
    after = fwaas.render(router(group(ingress=[rule(protocol="udp")]),
                                group(G2, ports=(PORT_B,), ingress=[rule()])))
    assert fwaas.changed_ports(old, after) == [QR_A]
    assert fwaas.changed_ports(old, before) == []
    # G2 goes admin down: its port; G2 removed: nothing (QR_B is filtered less).
    down = fwaas.render(router(group(ingress=[rule(protocol="tcp")]),
                               group(G2, ports=(PORT_B,), ingress=[rule()], up=False)))
    assert fwaas.changed_ports(old, down) == [QR_B]
    assert fwaas.changed_ports(old, fwaas.render(router(group(
        ingress=[rule(protocol="tcp")])))) == []
    # A port newly in a group: it; no table before: every filtered port.
    assert fwaas.changed_ports({}, before) == [QR_A, QR_B]


def test_the_addresses_of_changed_ports_and_their_connections() -> None:
    r = router_with_addresses(group(ingress=[rule()]))
    assert fwaas.cut_addresses(r, [QR_A]) == {4: ["10.0.1.0/24", "172.24.4.10/32"],
                                              6: ["2001:db8:1::/64"]}
    assert fwaas.cut_addresses(r, [QR_B]) == {4: ["10.0.2.0/24", "172.24.4.11/32"]}
    assert fwaas.cut_addresses(r, []) == {}
    entries = [conntrack.Entry(4, 6, "10.0.1.5", "192.0.2.10", 40000, 80),      # out
               conntrack.Entry(4, 6, "192.0.2.10", "172.24.4.10", 40001, 22),   # in, FIP
               conntrack.Entry(4, 6, "10.0.2.5", "192.0.2.10", 40002, 80),      # other port
               conntrack.Entry(6, 6, "2001:db8:1::5", "2001:db8:9::1", 1, 2),
               conntrack.Entry(4, 6, "10.0.1.5", "192.0.2.10", 40000, 80)]      # twice
    cidrs = ["10.0.1.0/24", "172.24.4.10/32", "2001:db8:1::/64"]
    assert fwaas.connections_to_cut(entries, cidrs) == [entries[0], entries[1], entries[3]]
