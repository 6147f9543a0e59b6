"""The ARP/MAC anti-spoofing table's rendering (pure): exact rules for a few ports,
which ports get a chain, and a digest that follows the content."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from neutrino.agent.firewall import arp, render
from neutrino.contract.l2 import empty_state
from unit.agent.test_firewall_render import MAC, PORT_ID, TAP, port, state, states

CHAIN = "port-" + PORT_ID
OTHER_ID = "bbbbbbbb-1111-2222-3333-444444444444"


def table(*ports: dict) -> arp.ArpTable:
    out = arp.render(state(list(ports), []))
    assert out is not None
    return out


def chain_rules(text: str, name: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index(f"\tchain {name} {{") + 1
    end = lines.index("\t}", start)
    return [line.strip() for line in lines[start:end]]


def test_filtered_port_fixed_ips_only_ipv4_in_arp() -> None:
    out = table(port(ips=("10.0.0.5", "2001:db8::5", "10.0.1.7")))
    assert out.text == (
        "table bridge neutrino-arp {\n"
        f'\tcomment "{out.comment}"\n'
        f"\tchain {CHAIN} {{\n"
        f"\t\tether saddr != {{ {MAC} }} drop\n"
        f"\t\tether type arp arp saddr ether != {{ {MAC} }} drop\n"
        "\t\tether type arp arp saddr ip != { 0.0.0.0, 10.0.0.5, 10.0.1.7 } drop\n"
        "\t}\n"
        "\tchain prerouting {\n"
        "\t\ttype filter hook prerouting priority -200; policy accept;\n"
        f'\t\tiifname vmap {{ "{TAP}" : jump {CHAIN} }}\n'
        "\t}\n"
        "}\n")
    assert out.comment.startswith(arp.COMMENT_PREFIX)


def test_allowed_address_pairs_add_macs_and_cidrs() -> None:
    pairs = [{"ip_address": "10.1.0.0/24", "mac_address": "FA:16:3E:00:00:01"},
             {"ip_address": "10.0.0.100", "mac_address": None},
             {"ip_address": "10.1.0.9", "mac_address": None},      # inside the /24
             {"ip_address": "2001:db8::/64", "mac_address": "fa:16:3e:00:00:02"}]
    out = table(port(allowed_address_pairs=pairs))
    macs = f"{{ fa:16:3e:00:00:01, fa:16:3e:00:00:02, {MAC} }}"
    assert chain_rules(out.text, CHAIN) == [
        f"ether saddr != {macs} drop",
        f"ether type arp arp saddr ether != {macs} drop",
        "ether type arp arp saddr ip != "
        "{ 0.0.0.0, 10.0.0.5, 10.0.0.100, 10.1.0.0/24 } drop"]


def test_port_without_ipv4_may_only_probe() -> None:
    out = table(port(ips=("2001:db8::5",)))
    assert chain_rules(out.text, CHAIN)[-1] == (
        "ether type arp arp saddr ip != { 0.0.0.0 } drop")


def test_address_pair_of_any_address_leaves_arp_sender_ip_free() -> None:
    out = table(port(allowed_address_pairs=[{"ip_address": "0.0.0.0/0",
                                             "mac_address": None}]))
    rules = chain_rules(out.text, CHAIN)
    assert len(rules) == 2 and not any("saddr ip" in r for r in rules)


def test_unfiltered_ports_get_nothing() -> None:
    dhcp = port(OTHER_ID, device_owner="network:dhcp")
    out = table(port(), port("cccccccc-0000-0000-0000-000000000000",
                             port_security_enabled=False), dhcp)
    assert out.text.count("\tchain port-") == 1
    assert out.text.count(" : jump ") == 1
    assert arp.render(state([port(port_security_enabled=False), dhcp], [])) is None


def test_no_ports_no_table() -> None:
    assert arp.render(state([], [])) is None
    assert arp.render(empty_state("h")) is None


def test_same_criterion_as_iptables() -> None:
    ports = [port(), port(OTHER_ID, port_security_enabled=False),
             port("cccccccc-0000-0000-0000-000000000000", device_owner="network:router_interface")]
    out = table(*ports)
    chained = {line.split("port-", 1)[1].split()[0] for line in out.text.splitlines()
               if line.startswith("\tchain port-")}
    assert chained == set(render.render(state(ports, [])).filtered_ports)


def test_digest_follows_content() -> None:
    base = table(port())
    assert table(port()) == base
    changed = [table(port(mac="fa:16:3e:99:99:99")), table(port(ips=("10.0.0.6",))),
               table(port(allowed_address_pairs=[{"ip_address": "10.0.0.7",
                                                  "mac_address": None}])),
               table(port(), port(OTHER_ID))]
    comments = {base.comment, *(t.comment for t in changed)}
    assert len(comments) == 1 + len(changed)
    # IPv6 addresses are not in the table: same content, same digest.
    assert table(port(ips=("10.0.0.5", "2001:db8::1"))).comment == base.comment


def test_replace_batch_declares_deletes_then_defines() -> None:
    out = table(port())
    assert arp.replace_batch(out) == (
        "table bridge neutrino-arp\ndelete table bridge neutrino-arp\n" + out.text)


@settings(max_examples=100, deadline=None)
@given(states(), st.randoms())
def test_render_properties(desired: dict, rnd: random.Random) -> None:
    out = arp.render(desired)
    again = dict(desired, ports=rnd.sample(desired["ports"], len(desired["ports"])))
    assert arp.render(again) == out  # port order does not matter
    filtered = [p for p in desired["ports"] if render.is_filtered(p)]
    if not filtered:
        assert out is None
        return
    assert out is not None
    for p in filtered:
        assert f'"{render.device_of(p)}" : jump port-{p["id"]}' in out.text
        rules = chain_rules(out.text, "port-" + p["id"])
        assert rules[0] == f"ether saddr != {{ {p['mac_address']} }} drop"
