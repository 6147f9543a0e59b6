"""The security-group firewall's rendering (pure): exact rules for representative
desired states, and properties that must hold for any of them."""

from __future__ import annotations

import ipaddress
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from neutrino.agent.firewall import conntrack, render, seclog
from neutrino.agent.firewall.driver import (
    ApplyResult,
    Tables,
    parse_ipset_save,
    parse_iptables_save,
    plan_table,
)
from neutrino.agent.firewall.render import IpSet
from neutrino.contract.l2 import empty_state

PORT_ID = "aaaaaaaa-1111-2222-3333-444444444444"
TAP = "tapaaaaaaaa-11"
MAC = "fa:16:3e:11:22:33"
IN, OUT, SPOOF = "neutrino-iaaaaaaaa-1", "neutrino-oaaaaaaaa-1", "neutrino-saaaaaaaa-1"
SG = "5e1f0b2c-0000-4000-8000-00000000cafe"
AG = "a9e00000-0000-4000-8000-000000000001"
# What a port may send from no address, at the end of every anti-spoofing chain.
UNADDRESSED = {
    4: ["-s 0.0.0.0/32 -d 255.255.255.255/32 -p udp -m udp --sport 68 --dport 67 "
        "-j RETURN", "-j DROP"],
    6: [*(f"-s ::/128 -d ff02::/16 -p ipv6-icmp -m icmp6 --icmpv6-type {t} -j RETURN"
          for t in (131, 135, 143)), "-j DROP"]}


def port(port_id: str = PORT_ID, mac: str = MAC, ips: tuple[str, ...] = ("10.0.0.5",),
         groups: tuple[str, ...] = (SG,), **extra: object) -> dict:
    return {"id": port_id, "device": "tap" + port_id[:11], "mac_address": mac,
            "fixed_ips": [{"subnet_id": "s", "ip_address": ip} for ip in ips],
            "allowed_address_pairs": [], "port_security_enabled": True,
            "security_groups": list(groups), "device_owner": "compute:nova",
            "network_id": "n", "revision_number": 1, **extra}


def rule(direction: str = "ingress", ethertype: str = "IPv4", **extra: object) -> dict:
    base = {"id": "r", "direction": direction, "ethertype": ethertype, "protocol": None,
            "port_range_min": None, "port_range_max": None, "remote_ip_prefix": None,
            "remote_group_id": None, "remote_address_group_id": None}
    return {**base, **extra}


def state(ports: list[dict], rules: list[dict], stateful: bool = True, **extra: object
          ) -> dict:
    return {"host": "h", "ports": ports, "networks": [],
            "security_groups": {SG: {"stateful": stateful, "revision_number": 1,
                                     "rules": rules}},
            "remote_groups": {}, "address_groups": {}, **extra}


def chain(ruleset: render.Ruleset, name: str, version: int = 4) -> list[str]:
    """The rules of a chain as a packet meets them (a goto to a group chain
    followed: render.walk), without the "-A chain " in front."""
    return [line.split(" ", 2)[2] for line in render.walk(ruleset.chains[version], name)]


def sg_rules(ruleset: render.Ruleset, name: str, version: int = 4) -> list[str]:
    """The security group rules of a port chain: what comes after the INVALID drop
    (stateful) and before the final DROP."""
    body = chain(ruleset, name, version)
    start = body.index(render.INVALID) + 1 if render.INVALID in body else _after_fixed(
        body)
    return body[start:-1]


def _after_fixed(body: list[str]) -> int:
    fixed = [i for i, line in enumerate(body)
             if "--sport 67" in line or "--sport 547" in line]
    return max(fixed) + 1


def is_group_chain(name: str) -> bool:
    return name.startswith((render.GROUP_INGRESS_PREFIX, render.GROUP_EGRESS_PREFIX))


# -- exact rules ----------------------------------------------------------------------

def test_ingress_ssh_from_anywhere() -> None:
    out = render.render(state([port()], [rule(protocol="tcp", port_range_min=22,
                                              port_range_max=22,
                                              remote_ip_prefix="0.0.0.0/0")]))
    assert chain(out, IN) == [
        "-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
        "-p udp -m udp --sport 67 --dport 68 -j RETURN",
        "-m conntrack --ctstate INVALID -j DROP",
        "-p tcp -m tcp --dport 22 -j RETURN",
        "-j DROP"]
    assert chain(out, OUT) == [
        f"-j {SPOOF}",
        "-p udp -m udp --sport 68 --dport 67 -j RETURN",
        "-p udp -m udp --sport 67 -j DROP",
        "-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
        "-m conntrack --ctstate INVALID -j DROP",
        "-j DROP"]
    assert chain(out, SPOOF) == [f"-s 10.0.0.5/32 -m mac --mac-source {MAC} -j RETURN",
                                 *UNADDRESSED[4]]
    assert out.chains[4][SPOOF][-1] == f"-A {SPOOF} -g {render.UNADDRESSED_CHAIN}"
    assert chain(out, render.SG_CHAIN) == [
        f"-m physdev --physdev-out {TAP} --physdev-is-bridged -j {IN}",
        f"-m physdev --physdev-in {TAP} --physdev-is-bridged -j {OUT}",
        "-j ACCEPT"]
    assert chain(out, render.FORWARD_CHAIN) == [
        f"-m physdev --physdev-out {TAP} --physdev-is-bridged -j neutrino-sg-chain",
        f"-m physdev --physdev-in {TAP} --physdev-is-bridged -j neutrino-sg-chain"]
    assert chain(out, render.INPUT_CHAIN) == [f"-m physdev --physdev-in {TAP} -j {OUT}"]
    assert out.ipsets == {}
    # The IPv4 rule is not in the IPv6 chain.
    assert sg_rules(out, IN, 6) == []


def test_rule_variants() -> None:
    rules = [
        rule(protocol="udp", port_range_min=1000, port_range_max=2000,
             remote_ip_prefix="192.0.2.7/24"),
        rule(protocol="icmp", port_range_min=8, port_range_max=0),
        rule(protocol="icmp", port_range_min=3),
        rule(protocol="icmp"),
        rule(protocol="6", port_range_min=80, port_range_max=80),
        rule(protocol="47"),
        rule(protocol="vrrp"),
        rule(protocol="udplite", port_range_min=5, port_range_max=6),
        rule(protocol="tcp", port_range_min=1, port_range_max=65535),
        rule(protocol="any"),
        rule("egress", protocol="tcp", remote_ip_prefix="203.0.113.9"),
    ]
    out = render.render(state([port()], rules))
    assert sg_rules(out, IN) == [
        "-s 192.0.2.0/24 -p udp -m udp --dport 1000:2000 -j RETURN",
        "-p icmp -m icmp --icmp-type 8/0 -j RETURN",
        "-p icmp -m icmp --icmp-type 3 -j RETURN",
        "-p icmp -j RETURN",
        "-p tcp -m tcp --dport 80 -j RETURN",
        "-p 47 -j RETURN",
        "-p 112 -j RETURN",
        "-p udplite -m multiport --dports 5:6 -j RETURN",
        "-p tcp -j RETURN",
        "-j RETURN",
    ]
    assert sg_rules(out, OUT) == ["-d 203.0.113.9/32 -p tcp -j RETURN"]


def test_remote_group_and_address_group_use_ipsets() -> None:
    other = "b0b00000-0000-4000-8000-000000000002"
    out = render.render(state(
        [port()],
        [rule(remote_group_id=SG), rule("egress", protocol="tcp",
                                        remote_address_group_id=AG),
         rule(ethertype="IPv6", remote_group_id=other)],
        remote_groups={SG: {"IPv4": ["10.0.0.5", "10.0.0.100/32", "10.1.0.0/16"],
                            "IPv6": ["2001:db8::5"]}},
        address_groups={AG: {"IPv4": ["192.0.2.0/24", "0.0.0.0/0"], "IPv6": []}}))
    v4_set, ag_set = f"NIPv4{SG[:23]}", f"NAGv4{AG[:23]}"
    v6_set = f"NIPv6{other[:23]}"
    assert sg_rules(out, IN) == [f"-m set --match-set {v4_set} src -j RETURN"]
    assert sg_rules(out, OUT) == [f"-p tcp -m set --match-set {ag_set} dst -j RETURN"]
    assert sg_rules(out, IN, 6) == [f"-m set --match-set {v6_set} src -j RETURN"]
    assert out.ipsets == {
        v4_set: IpSet(v4_set, "inet", frozenset({"10.0.0.5", "10.0.0.100",
                                                 "10.1.0.0/16"})),
        # /0 is not allowed in hash:net: its two halves instead.
        ag_set: IpSet(ag_set, "inet", frozenset({"192.0.2.0/24", "0.0.0.0/1",
                                                 "128.0.0.0/1"})),
        # A group the server sent no members for: an empty set, so the rule loads.
        v6_set: IpSet(v6_set, "inet6", frozenset()),
    }


def test_stateless_group_has_no_conntrack_rules() -> None:
    out = render.render(state([port()], [rule(protocol="tcp", port_range_min=22,
                                              port_range_max=22),
                                         rule("egress", protocol="tcp")],
                              stateful=False))
    assert chain(out, IN) == ["-p udp -m udp --sport 67 --dport 68 -j RETURN",
                             "-p tcp -m tcp --dport 22 -j RETURN", "-j DROP"]
    assert chain(out, OUT)[-2:] == ["-p tcp -j RETURN", "-j DROP"]
    assert not any("conntrack" in line for v in (4, 6)
                   for rules in out.chains[v].values() for line in rules)


def test_port_security_off_and_trusted_ports_have_no_chains() -> None:
    off = port("cccccccc-0000-4000-8000-000000000003", port_security_enabled=False)
    dhcp = port("dddddddd-0000-4000-8000-000000000004", device_owner="network:dhcp")
    out = render.render(state([off, dhcp, port()], [rule()]))
    assert out.filtered_ports == [PORT_ID]
    assert sorted(out.unfiltered_ports) == sorted([off["id"], dhcp["id"]])
    names = set(out.chains[4])
    assert not any(n.endswith(("cccccccc-0", "dddddddd-0")) for n in names)
    # Their traffic is still accepted explicitly (a FORWARD policy of DROP on the
    # host must not cut them off); only the filtered port's chains are jumped to.
    forward = chain(out, render.FORWARD_CHAIN)
    assert "-m physdev --physdev-in tapcccccccc-00 --physdev-is-bridged " \
           "-j neutrino-sg-chain" in forward
    assert all("tapcccccccc" not in line and "tapdddddddd" not in line
               for line in chain(out, render.SG_CHAIN))


def test_allowed_address_pairs_in_anti_spoofing() -> None:
    p = port(allowed_address_pairs=[
        {"ip_address": "10.0.0.100/32", "mac_address": None},
        {"ip_address": "10.0.1.0/24", "mac_address": "FA:16:3E:00:00:99"},
        {"ip_address": "2001:db8::100", "mac_address": MAC}])
    out = render.render(state([p], []))
    assert chain(out, SPOOF) == [
        f"-s 10.0.0.5/32 -m mac --mac-source {MAC} -j RETURN",
        f"-s 10.0.0.100/32 -m mac --mac-source {MAC} -j RETURN",
        "-s 10.0.1.0/24 -m mac --mac-source fa:16:3e:00:00:99 -j RETURN",
        *UNADDRESSED[4]]
    assert chain(out, SPOOF, 6) == [
        f"-s 2001:db8::100/128 -m mac --mac-source {MAC} -j RETURN",
        f"-s fe80::f816:3eff:fe11:2233/128 -m mac --mac-source {MAC} -j RETURN",
        "-s fe80::f816:3eff:fe00:99/128 -m mac --mac-source fa:16:3e:00:00:99 -j RETURN",
        *UNADDRESSED[6]]


def test_any_address_pair_allows_any_source_from_its_mac() -> None:
    p = port(allowed_address_pairs=[{"ip_address": "0.0.0.0/0",
                                     "mac_address": "fa:16:3e:00:00:77"}])
    out = render.render(state([p], []))
    assert "-m mac --mac-source fa:16:3e:00:00:77 -j RETURN" in chain(out, SPOOF)


def test_ipv6_port() -> None:
    p = port(ips=("2001:db8::5",))
    out = render.render(state([p], [rule(ethertype="IPv6", protocol="icmp"),
                                    rule(ethertype="IPv6", protocol="ipv6-icmp",
                                         port_range_min=128, port_range_max=0),
                                    rule(ethertype="IPv6", protocol="tcp",
                                         remote_ip_prefix="2001:db8:1::/48",
                                         port_range_min=443, port_range_max=443),
                                    rule("egress", ethertype="IPv6")]))
    ingress = chain(out, IN, 6)
    # Neighbour discovery, MLD queries, router advertisements and DHCPv6 replies
    # come in whatever the groups say.
    for icmp_type in (130, 134, 135, 136):
        assert f"-p ipv6-icmp -m icmp6 --icmpv6-type {icmp_type} -j RETURN" in ingress
    assert "-p udp -m udp --sport 547 --dport 546 -j RETURN" in ingress
    assert sg_rules(out, IN, 6) == [
        "-p ipv6-icmp -j RETURN",
        "-p ipv6-icmp -m icmp6 --icmpv6-type 128/0 -j RETURN",
        "-s 2001:db8:1::/48 -p tcp -m tcp --dport 443 -j RETURN"]
    egress = chain(out, OUT, 6)
    # A VM may do DAD/MLD before it has an address; it may not send RAs or serve
    # DHCPv6.
    assert egress[0] == f"-j {SPOOF}"
    assert ("-s ::/128 -d ff02::/16 -p ipv6-icmp -m icmp6 --icmpv6-type 135 -j RETURN"
            in chain(out, SPOOF, 6))
    assert egress.index("-p ipv6-icmp -m icmp6 --icmpv6-type 134 -j DROP") < \
        egress.index("-p ipv6-icmp -m icmp6 --icmpv6-type 133 -j RETURN")
    assert "-p udp -m udp --sport 547 -j DROP" in egress
    assert sg_rules(out, OUT, 6) == ["-j RETURN"]
    assert chain(out, SPOOF, 6) == [
        f"-s 2001:db8::5/128 -m mac --mac-source {MAC} -j RETURN",
        f"-s fe80::f816:3eff:fe11:2233/128 -m mac --mac-source {MAC} -j RETURN",
        *UNADDRESSED[6]]
    # No IPv4 address: everything but a DHCP discover from the port is a spoof.
    assert chain(out, SPOOF, 4) == UNADDRESSED[4]


def test_dhcp_and_ra_from_vm_dropped_after_client_dhcp_allowed() -> None:
    out = render.render(state([port()], [rule("egress")]))
    egress = chain(out, OUT)
    assert egress.index("-p udp -m udp --sport 68 --dport 67 -j RETURN") < \
        egress.index("-p udp -m udp --sport 67 -j DROP") < egress.index("-j RETURN")


def verdict(chains: dict[str, list[str]], name: str, packet: conntrack.Entry) -> str:
    """RETURN or DROP: `packet` (from the port's own MAC) through a chain, jumps
    followed (walk follows the gotos)."""
    for line in render.walk(chains, name):
        tokens = line.split()[2:]
        if "--mac-source" in tokens:  # the port's own MAC: the match holds
            at = tokens.index("--mac-source")
            tokens = tokens[:at - 2] + tokens[at + 2:]
        target = tokens[-1]
        matched = conntrack.matches(tokens[:-2], packet, {})
        assert matched is not None, line
        if not matched:
            continue
        if target in chains:
            if verdict(chains, target, packet) == "DROP":
                return "DROP"
            continue
        return target
    return "RETURN"


UNADDRESSED_PACKETS = [
    conntrack.Entry(4, 17, "0.0.0.0", "255.255.255.255", 68, 67),  # DHCP discover
    *(conntrack.Entry(6, 58, "::", "ff02::1:ff00:5", icmp_type=t, icmp_code=0)
      for t in render.ICMPV6_UNSPECIFIED_SOURCE)]                  # DAD, MLD


def test_packets_from_no_address_keep_their_verdict() -> None:
    # They used to be RETURNed ahead of the anti-spoofing jump by a rule per port;
    # the shared chain at the end of the anti-spoofing chain lets them through to
    # the egress verdict, which RETURNs them too, whatever the port's groups say.
    spoofed = [conntrack.Entry(4, 17, "10.9.9.9", "255.255.255.255", 68, 67),
               conntrack.Entry(6, 58, "2001:db8::99", "ff02::1", icmp_type=135,
                               icmp_code=0)]
    for rules in ([], [rule("egress", protocol="tcp")], SSH_AND_ANY_EGRESS):
        for stateful in (True, False):
            for logs in ([], [logged("ALL")]):
                out = render.render(state([port(ips=("10.0.0.5", "2001:db8::5"),
                                                logs=logs)], rules, stateful))
                for packet in UNADDRESSED_PACKETS:
                    assert verdict(out.chains[packet.version], OUT, packet) == "RETURN"
                for packet in spoofed:
                    assert verdict(out.chains[packet.version], OUT, packet) == "DROP"


def test_rules_of_several_groups_deduplicated_in_order() -> None:
    other = "0ther000-0000-4000-8000-000000000009"
    d = state([port(groups=(SG, other))], [rule(protocol="tcp"), rule(protocol="udp")])
    d["security_groups"][other] = {"stateful": True, "rules": [
        rule(protocol="udp"), rule(protocol="icmp")]}
    out = render.render(d)
    assert sg_rules(out, IN) == ["-p tcp -j RETURN", "-p udp -j RETURN",
                                "-p icmp -j RETURN"]


def test_port_without_groups_drops_everything_but_dhcp_and_nd() -> None:
    out = render.render(state([port(groups=())], [rule()]))
    assert sg_rules(out, IN) == [] and sg_rules(out, OUT) == []
    assert chain(out, IN)[-1] == "-j DROP"


def test_rules_iptables_would_refuse_are_left_out() -> None:
    # The API refuses these; were one to slip through, the other rules still load.
    out = render.render(state([port()], [
        rule(protocol="no-such-protocol"), rule(protocol="256"),
        rule(protocol="tcp", port_range_min=90, port_range_max=80),
        rule(protocol="icmp", port_range_min=300), rule(protocol="udp")]))
    assert sg_rules(out, IN) == ["-p udp -j RETURN"]


def test_rule_of_other_family_prefix_ignored() -> None:
    out = render.render(state([port()], [rule(remote_ip_prefix="2001:db8::/64")]))
    assert sg_rules(out, IN) == []


# -- group chains: a group's rules rendered once ------------------------------------

GI, GO = "neutrino-gi" + SG[:16], "neutrino-go" + SG[:16]


def test_ports_of_one_group_go_to_its_chains() -> None:
    ports = [port(f"{i:08x}-1111-2222-3333-444444444444", ips=(f"10.0.0.{i + 5}",))
             for i in range(3)]
    out = render.render(state(ports, [rule(protocol="tcp", port_range_min=22,
                                           port_range_max=22)]))
    for p in ports:
        ingress = render.port_chain(render.INGRESS_PREFIX, p["id"])
        egress = render.port_chain(render.EGRESS_PREFIX, p["id"])
        spoof = render.port_chain(render.SPOOF_PREFIX, p["id"])
        assert out.chains[4][ingress] == [f"-A {ingress} -g {GI}"]
        assert out.chains[4][egress][-2:] == [f"-A {egress} -j {spoof}",
                                              f"-A {egress} -g {GO}"]
    assert chain(out, GI) == [
        "-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
        "-p udp -m udp --sport 67 --dport 68 -j RETURN",
        "-m conntrack --ctstate INVALID -j DROP",
        "-p tcp -m tcp --dport 22 -j RETURN",
        "-j DROP"]
    assert chain(out, GO)[-1] == "-j DROP" and chain(out, GO, 6)[-1] == "-j DROP"
    # IPv4, per port: 2 FORWARD, 2 sg-chain, 1 INPUT, 1 + 2 + 2 in its own chains;
    # once: the sg-chain's ACCEPT, the group's two chains of 5 rules and the
    # unaddressed chain's 2.
    assert sum(len(rules) for rules in out.chains[4].values()) == 3 * 10 + 1 + 5 + 5 + 2


def test_a_rule_change_rewrites_the_group_chain_only() -> None:
    ports = [port(f"{i:08x}-1111-2222-3333-444444444444") for i in range(5)]
    before = render.render(state(ports, [rule(protocol="tcp")]))
    after = render.render(state(ports, [rule(protocol="tcp"), rule(protocol="udp")]))
    assert {name for name in after.chains[4]
            if after.chains[4][name] != before.chains[4].get(name)} == {GI}
    assert after.chains[6] == before.chains[6]
    egress = render.render(state(ports, [rule(protocol="tcp"), rule("egress")]))
    assert {name for name in egress.chains[4]
            if egress.chains[4][name] != before.chains[4].get(name)} == {GO}


def test_several_groups_share_a_chain_per_set_in_port_order() -> None:
    other = "0ther000-0000-4000-8000-000000000009"
    a = port("0000000a-1111-2222-3333-444444444444", groups=(SG, other))
    b = port("0000000b-1111-2222-3333-444444444444", groups=(SG, other))
    c = port("0000000c-1111-2222-3333-444444444444", groups=(other, SG))
    d = state([a, b, c], [rule(protocol="tcp")])
    d["security_groups"][other] = {"stateful": True, "rules": [rule(protocol="udp")]}
    out = render.render(d)
    name = render.group_chain(render.GROUP_INGRESS_PREFIX, (SG, other))
    assert name.startswith("neutrino-gix") and len(name) == 27
    assert name == render.group_chain(render.GROUP_INGRESS_PREFIX, (SG, other, SG))
    reverse = render.group_chain(render.GROUP_INGRESS_PREFIX, (other, SG))
    assert reverse != name and {name, reverse} <= set(out.chains[4])
    assert sg_rules(out, name) == ["-p tcp -j RETURN", "-p udp -j RETURN"]
    assert sg_rules(out, reverse) == ["-p udp -j RETURN", "-p tcp -j RETURN"]
    for p, target in ((a, name), (b, name), (c, reverse)):
        ingress = render.port_chain(render.INGRESS_PREFIX, p["id"])
        assert out.chains[4][ingress] == [f"-A {ingress} -g {target}"]
    # No group: a chain of its own kind (DHCP/ND and conntrack, then DROP).
    none = render.render(state([port(groups=())], []))
    empty = render.group_chain(render.GROUP_INGRESS_PREFIX, ())
    assert chain(none, IN) == chain(none, empty) and chain(none, IN)[-1] == "-j DROP"


def test_stateless_group_chain_has_no_conntrack_rules() -> None:
    out = render.render(state([port()], [rule(protocol="tcp")], stateful=False))
    assert not any("conntrack" in line for line in out.chains[4][GI] + out.chains[4][GO])


def test_walk_follows_a_goto_and_never_comes_back() -> None:
    chains = {"neutrino-ia": ["-A neutrino-ia -p tcp -j RETURN",
                              "-A neutrino-ia -g neutrino-gig",
                              "-A neutrino-ia -j ACCEPT"],
              "neutrino-gig": ["-A neutrino-gig -p udp -j RETURN", "-A neutrino-gig -j DROP"],
              "neutrino-ib": ["-A neutrino-ib -g neutrino-gone"]}
    assert render.walk(chains, "neutrino-ia") == [
        "-A neutrino-ia -p tcp -j RETURN", "-A neutrino-ia -p udp -j RETURN",
        "-A neutrino-ia -j DROP"]
    # A goto to a chain not rendered stays as it is.
    assert render.walk(chains, "neutrino-ib") == chains["neutrino-ib"]
    assert render.walk(chains, "neutrino-none") == []


# -- security group logging ------------------------------------------------------------

LOG_A, LOG_B = "10a00000-0000-4000-8000-00000000000a", "10b00000-0000-4000-8000-00000000000b"
LIMIT = "-m limit --limit 100/sec --limit-burst 25 -j NFLOG"


def logged(event: str, log_id: str = LOG_A) -> dict:
    return {"id": log_id, "project_id": "p", "event": event}


def nflog_rule(action: str, matches: str = "") -> str:
    return (f"{matches + ' ' if matches else ''}{LIMIT} --nflog-prefix "
            f"{action}-{PORT_ID} --nflog-group {render.seclog.NFLOG_GROUP}")


SSH_AND_ANY_EGRESS = [rule(protocol="tcp", port_range_min=22, port_range_max=22),
                      rule("egress")]


def test_logged_port_all_events_logs_each_allowed_rule_and_the_drops() -> None:
    out = render.render(state([port(logs=[logged("ALL")])], SSH_AND_ANY_EGRESS))
    ssh = "-p tcp -m tcp --dport 22"
    assert sg_rules(out, IN) == [nflog_rule("ACCEPT", ssh), f"{ssh} -j RETURN",
                                 nflog_rule("DROP")]
    assert sg_rules(out, OUT) == [nflog_rule("ACCEPT"), "-j RETURN", nflog_rule("DROP")]
    # The fixed rules (DHCP, conntrack) are not logged, nor the anti-spoofing drops.
    assert sum("NFLOG" in line for line in chain(out, IN)) == 2
    assert not any("NFLOG" in line for line in chain(out, SPOOF))
    # IPv6: no IPv6 rule here, but the drop is logged there too.
    assert sg_rules(out, IN, 6) == [nflog_rule("DROP")]


def test_accept_and_drop_events_log_only_their_action() -> None:
    accept = render.render(state([port(logs=[logged("ACCEPT")])], SSH_AND_ANY_EGRESS))
    assert sg_rules(accept, OUT) == [nflog_rule("ACCEPT"), "-j RETURN"]
    drop = render.render(state([port(logs=[logged("DROP")])], SSH_AND_ANY_EGRESS))
    assert sg_rules(drop, OUT) == ["-j RETURN", nflog_rule("DROP")]
    # Two logs asking for different events: both actions, each rule once.
    both = render.render(state([port(logs=[logged("DROP"), logged("ACCEPT", LOG_B)])],
                               SSH_AND_ANY_EGRESS))
    assert sg_rules(both, OUT) == sg_rules(render.render(state(
        [port(logs=[logged("ALL")])], SSH_AND_ANY_EGRESS)), OUT)


def test_unlogged_ports_and_no_settings_have_no_log_rules() -> None:
    other = port("bbbbbbbb-0000-4000-8000-00000000000b", logs=[])
    plain = render.render(state([port(), other], SSH_AND_ANY_EGRESS))
    assert not any("NFLOG" in line for v in (4, 6) for rules in plain.chains[v].values()
                   for line in rules)
    # A port's logs without settings (render(..., None)): nothing either, and the
    # ruleset is the unlogged one.
    assert render.render(state([port(logs=[logged("ALL")]), other], SSH_AND_ANY_EGRESS),
                         None) == plain
    # A port without port security has no chains, so nothing to log.
    off = render.render(state([port(port_security_enabled=False,
                                    logs=[logged("ALL")])], SSH_AND_ANY_EGRESS))
    assert not any("NFLOG" in line for rules in off.chains[4].values() for line in rules)


def test_stateless_port_logs_every_allowed_packet() -> None:
    out = render.render(state([port(logs=[logged("ACCEPT")])], [rule("egress")],
                              stateful=False))
    # No conntrack rule before: each packet the rule allows meets the log rule.
    assert chain(out, OUT)[-3:] == [nflog_rule("ACCEPT"), "-j RETURN", "-j DROP"]


def test_log_settings_and_rule_text_as_iptables_save_prints_it() -> None:
    settings = render.LogSettings(rate_limit=300, burst_limit=5, group=3)
    out = render.render(state([port(logs=[logged("DROP")])], []), settings)
    # 300/s is kept as 10000 // 300 = 33 (1/10000 s units), printed 303/sec;
    # the default burst (5) is not printed.
    assert chain(out, IN)[-2] == (f"-m limit --limit 303/sec -j NFLOG --nflog-prefix "
                                  f"DROP-{PORT_ID} --nflog-group 3")


def test_no_ports() -> None:
    out = render.render(empty_state("h"))
    assert out.chains[4] == {render.FORWARD_CHAIN: [], render.SG_CHAIN: [
        "-A neutrino-sg-chain -j ACCEPT"], render.INPUT_CHAIN: []}
    assert out.ipsets == {}


# -- tool input -----------------------------------------------------------------------

def test_ipset_commands_swap_in_whole_content() -> None:
    text = render.ipset_commands([IpSet("NIPv4x", "inet", frozenset({"10.0.0.6",
                                                                     "10.0.0.5"}))])
    assert text.splitlines() == [
        "create NIPv4x hash:net family inet", "create NIPv4x-n hash:net family inet",
        "flush NIPv4x-n", "add NIPv4x-n 10.0.0.5", "add NIPv4x-n 10.0.0.6",
        "swap NIPv4x-n NIPv4x", "destroy NIPv4x-n"]


def test_iptables_restore_input() -> None:
    text = render.iptables_restore_input(
        {"neutrino-ix": ["-A neutrino-ix -j DROP"]}, ["neutrino-old"], ["FORWARD"],
        ["INPUT"])
    assert text.splitlines() == [
        "*filter", ":neutrino-ix - [0:0]", ":neutrino-old - [0:0]",
        "-I FORWARD 1 -j neutrino-FORWARD", "-D INPUT -j neutrino-INPUT",
        "-A neutrino-ix -j DROP", "-X neutrino-old", "COMMIT"]


# -- reading the kernel back and planning (driver's pure parts) -------------------------

SAVE = """# Generated by iptables-save
*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -j neutrino-FORWARD
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:DOCKER - [0:0]
:neutrino-FORWARD - [0:0]
:neutrino-iold - [0:0]
:neutrino-sg-chain - [0:0]
-A FORWARD -j neutrino-FORWARD
-A FORWARD -j neutrino-FORWARD
-A FORWARD -j DOCKER
-A neutrino-iold -p gre -j RETURN
-A neutrino-sg-chain -j ACCEPT
COMMIT
"""


def test_parse_iptables_save_only_our_filter_chains() -> None:
    tables = parse_iptables_save(SAVE)
    assert tables.chains == {"neutrino-FORWARD": [],
                             "neutrino-iold": ["-A neutrino-iold -p 47 -j RETURN"],
                             "neutrino-sg-chain": ["-A neutrino-sg-chain -j ACCEPT"]}
    assert tables.jumps == {"FORWARD": 2, "INPUT": 0}


def test_plan_table_writes_only_differences() -> None:
    have = parse_iptables_save(SAVE)
    want = {"neutrino-FORWARD": [], "neutrino-sg-chain": ["-A neutrino-sg-chain -j ACCEPT"],
            "neutrino-INPUT": []}
    write, delete, add, remove = plan_table(want, have)
    assert write == {"neutrino-INPUT": []}
    assert delete == ["neutrino-iold"]
    assert add == ["INPUT"] and remove == ["FORWARD"]
    # Same rule, protocol by number on our side, by name in iptables-save: equal.
    same = plan_table({"neutrino-iold": ["-A neutrino-iold -p 47 -j RETURN"]},
                      Tables(chains={"neutrino-iold": ["-A neutrino-iold -p 47 -j RETURN"]},
                             jumps={"FORWARD": 1, "INPUT": 1}))
    assert same == ({}, [], [], [])


def test_parse_ipset_save_only_ours() -> None:
    text = ("create NIPv4abc hash:net family inet hashsize 1024 maxelem 65536\n"
            "add NIPv4abc 10.0.0.5\nadd NIPv4abc 10.1.0.0/16\n"
            "create NAGv6def hash:net family inet6 hashsize 1024\n"
            "create docker-set hash:ip family inet\nadd docker-set 1.2.3.4\n")
    assert parse_ipset_save(text) == {
        "NIPv4abc": IpSet("NIPv4abc", "inet", frozenset({"10.0.0.5", "10.1.0.0/16"})),
        "NAGv6def": IpSet("NAGv6def", "inet6", frozenset())}


def test_kernel_spellings_of_addresses_compare_equal() -> None:
    # iptables-save and ipset save write IPv4-mapped IPv6 addresses their own way.
    assert render.canonical("-A c -s ::ffff:0.0.0.0/128 -j RETURN") == \
        render.canonical("-A c -s ::ffff:0:0/128 -j RETURN")
    saved = parse_ipset_save("create NIPv6x hash:net family inet6\n"
                             "add NIPv6x ::ffff:10.0.0.0/120\nadd NIPv6x ::ffff:0.0.0.0\n")
    assert saved["NIPv6x"].members == render.set_members(
        ["::ffff:0:0", "::ffff:10.0.0.0/120"], 6)


def test_apply_result_changed() -> None:
    assert not ApplyResult(rules=5).changed
    assert ApplyResult(sets_deleted=1).changed


# -- properties ---------------------------------------------------------------------------

uuids = st.uuids().map(str)
macs = st.lists(st.integers(0, 255), min_size=6, max_size=6).map(
    lambda b: ":".join(f"{x:02x}" for x in [b[0] & 0xFE, *b[1:]]))
v4 = st.ip_addresses(v=4).map(str)
v6 = st.ip_addresses(v=6).map(str)
events = st.sampled_from(["ACCEPT", "DROP", "ALL"])
protocols = st.sampled_from([None, "any", "tcp", "udp", "icmp", "icmpv6", "ipv6-icmp",
                             "sctp", "dccp", "udplite", "gre", "6", "17", "1", "58",
                             "112", "200"])


@st.composite
def rules(draw: st.DrawFn) -> dict:
    ethertype = draw(st.sampled_from(["IPv4", "IPv6"]))
    low = draw(st.none() | st.integers(0, 255))
    high = draw(st.none() | st.integers(0, 255))
    prefix = draw(st.none() | st.builds(
        lambda a, n: f"{a}/{n}", v4 if ethertype == "IPv4" else v6,
        st.integers(0, 32 if ethertype == "IPv4" else 128)))
    return rule(draw(st.sampled_from(["ingress", "egress"])), ethertype,
                protocol=draw(protocols), port_range_min=low,
                port_range_max=None if low is None else high, remote_ip_prefix=prefix,
                remote_group_id=draw(st.none() | uuids),
                remote_address_group_id=draw(st.none() | uuids))


@st.composite
def states(draw: st.DrawFn) -> dict:
    groups = draw(st.lists(uuids, min_size=1, max_size=3, unique=True))
    # Unique ids and MACs: Neutron refuses a MAC twice on a network (and two ports
    # with one MAC would share their anti-spoofing flows on OVS).
    ports = [port(pid, mac, tuple(draw(st.lists(v4 | v6, max_size=3))),
                  tuple(draw(st.lists(st.sampled_from(groups), max_size=2, unique=True))),
                  port_security_enabled=draw(st.booleans()),
                  allowed_address_pairs=[{"ip_address": a, "mac_address": None}
                                         for a in draw(st.lists(v4 | v6, max_size=2))],
                  logs=[{"id": i, "project_id": "p", "event": e}
                        for i, e in draw(st.lists(st.tuples(uuids, events), max_size=1,
                                                  unique_by=lambda x: x[0]))])
             for pid, mac in draw(st.lists(st.tuples(uuids, macs), max_size=4,
                                           unique_by=(lambda x: x[0], lambda x: x[1])))]
    return {"ports": ports,
            "security_groups": {g: {"stateful": draw(st.booleans()),
                                    "rules": draw(st.lists(rules(), max_size=5))}
                                for g in groups},
            "remote_groups": {g: {"IPv4": draw(st.lists(v4, max_size=3)),
                                  "IPv6": draw(st.lists(v6, max_size=3))} for g in groups},
            "address_groups": {}}


@settings(max_examples=150, deadline=None)
@given(states(), st.randoms())
def test_render_properties(desired: dict, rnd: random.Random) -> None:
    out = render.render(desired)
    again = dict(desired, ports=rnd.sample(desired["ports"], len(desired["ports"])))
    assert render.render(again) == out  # port order does not matter
    filtered = {p["id"] for p in desired["ports"] if p["port_security_enabled"]}
    assert set(out.filtered_ports) == filtered
    log_prefixes = set(seclog.targets(desired))
    # Without log settings: the same rules less the log rules.
    unlogged = render.render(desired, None)
    for version in (4, 6):
        # (A logged port's rules are inline, an unlogged one's in group chains:
        # compared as a packet walks them.)
        def walked(ruleset: render.Ruleset) -> dict[str, list[str]]:
            chains = ruleset.chains[version]  # noqa: B023 - used at once
            return {name: [line for line in render.walk(chains, name)
                           if " -j NFLOG " not in line]
                    for name in chains if not is_group_chain(name)}
        assert walked(out) == walked(unlogged)
    for version in (4, 6):
        chains = out.chains[version]
        for name, lines in chains.items():
            assert len(name) <= 28  # iptables' limit for a chain name
            assert render.is_our_chain(name)
            assert all(line.startswith(f"-A {name} ") for line in lines)
            assert len(lines) == len(set(lines))  # no duplicate rule
            assert render.canonical(" ".join(lines)) == render.canonical(
                render.canonical(" ".join(lines)))
            # Every jump goes to a chain of ours that exists, or to a verdict, or
            # logs a packet under a prefix the reader knows.
            for line in lines:
                if " -g " in line:  # to its group chain, or the unaddressed one
                    target = line.rsplit(" -g ", 1)[1]
                    assert target in chains
                    assert is_group_chain(target) or (
                        target == render.UNADDRESSED_CHAIN
                        and name.startswith(render.SPOOF_PREFIX))
                    continue
                target = line.rsplit(" -j ", 1)[1]
                if target.startswith("NFLOG "):
                    prefix = target.split()[2]
                    assert prefix in log_prefixes
                    assert len(prefix) <= 63 and set(prefix) <= seclog.PREFIX_CHARS
                    continue
                assert target in chains or target in ("RETURN", "DROP", "ACCEPT")
            # Every set a rule uses is defined, of the right family.
            for line in lines:
                if "--match-set" in line:
                    set_name = line.split("--match-set ")[1].split()[0]
                    assert out.ipsets[set_name].family == (
                        "inet" if version == 4 else "inet6")
        for pid in filtered:
            for prefix in (render.INGRESS_PREFIX, render.EGRESS_PREFIX,
                           render.SPOOF_PREFIX):
                walked_chain = render.walk(chains, render.port_chain(prefix, pid))
                assert walked_chain[-1].endswith(" -j DROP")
                assert " -g " not in " ".join(walked_chain)
        # Every group chain is some port's.
        gone_to = {line.rsplit(" -g ", 1)[1] for lines in chains.values()
                   for line in lines if " -g " in line}
        assert {name for name in chains if is_group_chain(name)} == {
            name for name in gone_to if is_group_chain(name)}
        assert (render.UNADDRESSED_CHAIN in chains) == bool(filtered)
        # What is rendered per port (not per group) has no udp/tcp port match:
        # iptables resolves each such number with getaddrinfo(), which dumps every
        # address of the namespace (session 9: quadratic first writes). Logged
        # ports, whose verdicts are inline, are the exception.
        for pid in filtered:
            own = [chains.get(render.port_chain(prefix, pid), []) for prefix in (
                render.INGRESS_PREFIX, render.EGRESS_PREFIX, render.SPOOF_PREFIX)]
            if any(" -g " + render.GROUP_INGRESS_PREFIX in line for line in own[0]):
                assert not any("--sport" in line or "--dport" in line
                               for lines in own for line in lines)
    for ipset in out.ipsets.values():
        assert len(ipset.name) + len(render.SWAP_SUFFIX) <= 31
        for member in ipset.members:
            net = ipaddress.ip_network(member)
            assert net.prefixlen > 0
            assert (net.version == 4) == (ipset.family == "inet")


@given(st.lists(v4 | st.builds(lambda a, n: f"{a}/{n}", v4, st.integers(0, 32)),
                max_size=8))
def test_set_members_cover_exactly_the_addresses(values: list[str]) -> None:
    members = render.set_members(values, 4)
    covered = list(ipaddress.collapse_addresses(ipaddress.ip_network(m) for m in members))
    wanted = list(ipaddress.collapse_addresses(ipaddress.ip_network(v, strict=False)
                                               for v in values))
    assert covered == wanted


@given(macs)
def test_link_local_is_eui64_of_mac(mac: str) -> None:
    address = render.link_local(mac).network_address
    assert address in ipaddress.ip_network("fe80::/64")
    assert address.packed[11:13] == b"\xff\xfe"
    assert address.packed[13:] == bytes.fromhex(mac.replace(":", ""))[3:]


# -- configuration ----------------------------------------------------------------------

def _conf(**overrides: object):
    from oslo_config import cfg

    from neutrino.agent.linuxbridge import config as lb_config

    conf = cfg.ConfigOpts()
    lb_config.register_opts(conf)
    conf(args=[])
    for name, value in overrides.items():
        conf.set_override(name, value, group="securitygroup")
    return conf


def test_firewall_on_by_default_and_off_by_option() -> None:
    from neutrino.agent.firewall import config as fw_config
    from neutrino.agent.firewall.driver import Firewall

    assert isinstance(fw_config.firewall(_conf(), "ns1"), Firewall)
    assert fw_config.firewall(_conf(firewall_driver="noop")) is None
    assert fw_config.firewall(_conf(enable_security_group=False)) is None


def test_missing_tools_reported(monkeypatch) -> None:
    from neutrino.agent.firewall import config as fw_config

    # The tools are installed here; a host without ipset is simulated.
    monkeypatch.setattr(fw_config.shutil, "which",
                        lambda tool: None if tool == "ipset" else f"/usr/sbin/{tool}")
    (problem,) = fw_config.check(_conf())
    assert "needs ipset" in problem and "firewall_driver = noop" in problem
    assert fw_config.check(_conf(firewall_driver="noop")) == []


def test_driver_reuses_the_last_render_while_ports_and_groups_are_the_same() -> None:
    from neutrino.agent.firewall.driver import Firewall  # its _render is pure

    firewall = Firewall("unused")
    d = state([port()], [rule(protocol="tcp", remote_group_id=SG)],
              remote_groups={SG: {"IPv4": ["10.0.0.5"], "IPv6": []}})
    first, arp_first = firewall._render(d)
    assert first == render.render(d)
    # A port going ACTIVE and a member added: the same chains, new sets.
    d["ports"][0]["status"] = "ACTIVE"
    d["remote_groups"][SG]["IPv4"].append("10.0.0.9")
    second, arp_second = firewall._render(d)
    assert second.chains is first.chains and arp_second is arp_first
    assert second == render.render(d) and second.ipsets != first.ipsets
    # A rule change (in place, as a caller may do): rendered again.
    d["security_groups"][SG]["rules"].append(rule(protocol="udp"))
    third, _ = firewall._render(d)
    assert third.chains is not first.chains and third == render.render(d)
