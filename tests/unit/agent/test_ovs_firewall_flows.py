"""The OpenFlow firewall's rendering (pure): exact flows for representative ports,
the rules' matches, the bundles the driver writes, and properties of any desired
state (the Linux bridge firewall's strategy)."""

from __future__ import annotations

import random
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from neutrino.agent.ovs.firewall import flows
from neutrino.agent.ovs.firewall.driver import ApplyResult, bundle_text, installed_from_diff
from neutrino.agent.ovs.firewall.flows import Binding
from unit.agent.test_firewall_render import port, rule, state, states

SG = "5e1f0b2c-0000-4000-8000-00000000cafe"
MAC = "fa:16:3e:11:22:33"
BIND = Binding(ofport=7, vlan=3)


def of(desired: dict, bind: Binding = BIND) -> list[str]:
    return flows.port_flows(desired["ports"][0], bind, desired)


def table(lines: list[str], number: int) -> list[str]:
    """A table's flows without the "table=N," in front."""
    prefix = f"table={number},"
    return [line[len(prefix):] for line in lines if line.startswith(prefix)]


def rule_flows(lines: list[str], number: int) -> list[str]:
    return [line for line in table(lines, number) if line.startswith("priority=70,")]


# -- port ranges -------------------------------------------------------------------------

def test_port_masks() -> None:
    assert flows.port_masks(22, 22) == ["22"]
    assert flows.port_masks(1024, 2047) == ["0x0400/0xfc00"]
    assert flows.port_masks(1000, 1003) == ["0x03e8/0xfffc"]
    assert flows.port_masks(5, 8) == ["5", "0x0006/0xfffe", "8"]
    assert flows.port_masks(0, 65535) == ["0x0000/0x0000"]


@given(st.integers(0, 65535), st.integers(0, 65535))
def test_port_masks_cover_exactly_the_range(a: int, b: int) -> None:
    low, high = min(a, b), max(a, b)
    covered: set[int] = set()
    for text in flows.port_masks(low, high):
        value, _, mask = text.partition("/")
        base, size = int(value, 0), (0x10000 - int(mask, 16)) if mask else 1
        block = set(range(base, base + size))
        assert not covered & block  # blocks do not overlap
        covered |= block
    assert covered == set(range(low, high + 1))
    assert len(flows.port_masks(low, high)) <= 32


# -- rules ---------------------------------------------------------------------------

def matches(**fields: object) -> list[str]:
    return flows.rule_matches(rule(**fields))  # type: ignore[arg-type]


def test_rule_protocols_and_ports() -> None:
    assert matches() == ["ip"]
    assert matches(ethertype="IPv6") == ["ipv6"]
    assert matches(protocol="tcp", port_range_min=22, port_range_max=22) == ["tcp,tp_dst=22"]
    assert matches(protocol="udp", ethertype="IPv6", port_range_min=1024,
                   port_range_max=2047) == ["udp6,tp_dst=0x0400/0xfc00"]
    assert matches(protocol="tcp", port_range_min=1, port_range_max=65535) == ["tcp"]
    assert matches(protocol="sctp", port_range_min=9) == ["sctp,tp_dst=9"]
    assert matches(protocol="tcp", port_range_min=9, port_range_max=3) == []
    assert matches(protocol="6") == ["tcp"]
    assert matches(protocol="vrrp") == ["ip,nw_proto=112"]
    assert matches(protocol="47", ethertype="IPv6") == ["ipv6,nw_proto=47"]
    assert matches(protocol="any") == ["ip"]
    assert matches(protocol="0") == ["ip"]
    assert matches(protocol="nonsense") == []
    # OpenFlow has no port match for dccp/udplite: such a rule allows nothing.
    assert matches(protocol="dccp", port_range_min=5) == []
    assert matches(protocol="dccp") == ["ip,nw_proto=33"]


def test_rule_icmp() -> None:
    assert matches(protocol="icmp") == ["icmp"]
    assert matches(protocol="icmp", port_range_min=8, port_range_max=0) == [
        "icmp,icmp_type=8,icmp_code=0"]
    assert matches(protocol="icmp", port_range_min=8) == ["icmp,icmp_type=8"]
    # "icmp" in an IPv6 rule is ICMPv6, as upstream's.
    assert matches(protocol="icmp", ethertype="IPv6", port_range_min=128) == [
        "icmp6,icmp_type=128"]
    assert matches(protocol="ipv6-icmp", ethertype="IPv6") == ["icmp6"]
    assert matches(protocol="icmp", port_range_min=300) == []


def test_rule_remote_ends() -> None:
    assert matches(remote_ip_prefix="10.1.0.0/16") == ["ip,nw_src=10.1.0.0/16"]
    assert matches(direction="egress", remote_ip_prefix="10.1.2.3/16") == [
        "ip,nw_dst=10.1.0.0/16"]
    assert matches(remote_ip_prefix="0.0.0.0/0") == ["ip"]
    assert matches(remote_ip_prefix="2001:db8::/32") == []   # the other version
    assert matches(ethertype="IPv6", direction="egress", remote_ip_prefix="2001:db8::/32",
                   protocol="udp") == ["udp6,ipv6_dst=2001:db8::/32"]


REMOTE = "77777777-0000-4000-8000-000000000007"


def test_remote_groups_are_conjunctions() -> None:
    a = port("aaaaaaaa-0000-4000-8000-000000000001", groups=(SG,))
    b = port("bbbbbbbb-0000-4000-8000-000000000002", groups=(SG,))
    desired = state([a, b], [rule(protocol="tcp", port_range_min=80, port_range_max=81,
                                  remote_group_id=REMOTE),
                             rule(protocol="udp", remote_group_id=REMOTE),
                             rule("egress", remote_address_group_id="ag")],
                    remote_groups={REMOTE: {"IPv4": ["10.0.0.2", "10.0.0.1"],
                                            "IPv6": ["2001:db8::1"]}},
                    address_groups={"ag": {"IPv4": ["192.0.2.0/24"], "IPv6": []}})
    bindings = {a["id"]: Binding(7, 3), b["id"]: Binding(8, 3)}
    out = flows.render(desired, bindings)
    conj = flows.Conjunctions()
    ingress = conj.id((3, "rg", REMOTE, "ingress", 4), SG)
    egress = conj.id((3, "ag", "ag", "egress", 4), SG)
    # Clause 1/2: the members, once for the network, under the remote's cookie.
    assert out[flows.group_cookie((3, "rg", REMOTE, "ingress", 4))] == [
        f"table=82,priority=71,reg6=3,ip,nw_src=10.0.0.1/32 actions=conjunction({ingress},1/2)",
        f"table=82,priority=71,reg6=3,ip,nw_src=10.0.0.2/32 actions=conjunction({ingress},1/2)"]
    assert out[flows.group_cookie((3, "ag", "ag", "egress", 4))] == [
        f"table=72,priority=71,reg6=3,ip,nw_dst=192.0.2.0/24 actions=conjunction({egress},1/2)"]
    # The IPv4 rules only: no IPv6 member flows (no IPv6 rule uses the group).
    assert len(out) == 5
    # Clause 2/2 and the conj_id flow: each port's own.
    assert [f for f in out[flows.port_cookie(7)] if f.startswith("table=82,priority=71")] == [
        f"table=82,priority=71,ct_state=+new-est,reg5=7,tcp,tp_dst=0x0050/0xfffe "
        f"actions=conjunction({ingress},2/2)",
        f"table=82,priority=71,ct_state=+est-rel-rpl,reg5=7,tcp,tp_dst=0x0050/0xfffe "
        f"actions=conjunction({ingress},2/2)",
        f"table=82,priority=71,ct_state=+new-est,reg5=7,udp actions=conjunction({ingress},2/2)",
        f"table=82,priority=71,ct_state=+est-rel-rpl,reg5=7,udp "
        f"actions=conjunction({ingress},2/2)",
        f"table=82,priority=71,conj_id={ingress},reg5=7 actions=resubmit(,92)"]
    assert f"table=72,priority=71,conj_id={egress},reg5=8 actions=resubmit(,73)" in \
        out[flows.port_cookie(8)]
    # A membership change touches the group's flows only.
    desired["remote_groups"][REMOTE]["IPv4"] = ["10.0.0.3"]
    changed = flows.render(desired, bindings)
    assert {c for c in out if out[c] != changed.get(c)} == {
        flows.group_cookie((3, "rg", REMOTE, "ingress", 4))}
    # No members: no clause 1/2, so the rule allows nothing.
    desired["remote_groups"] = {}
    assert len(flows.render(desired, bindings)) == 4


def test_conjunction_ids_are_unique() -> None:
    conj = flows.Conjunctions()
    keys = [((v, "rg", str(g), "ingress", 4), str(s)) for v in range(30)
            for g in range(30) for s in range(3)]
    ids = [conj.id(*k) for k in keys]
    assert len(set(ids)) == len(keys)
    assert conj.id(*keys[0]) == ids[0]
    assert len(conj.users) == 900 and conj.users[keys[0][0]] == set(ids[:3])


# -- one port --------------------------------------------------------------------------

def test_dispatch_flows() -> None:
    lines = of(state([port(mac=MAC)], []))
    # The registers are set (and the VLAN popped) by the agent's table 60, not here.
    assert not [f for f in lines if "reg5=0" in f or f.startswith("table=60,")]
    assert table(lines, 73) == [
        f"priority=100,reg6=3,dl_dst={MAC} actions=set_field:7->reg5,resubmit(,81)"]
    assert table(lines, 92) == [
        "priority=90,ip,ct_state=+new-est+trk,reg5=7 actions=ct(commit,"
        "zone=NXM_NX_REG6[0..15]),output:7",
        "priority=90,ipv6,ct_state=+new-est+trk,reg5=7 actions=ct(commit,"
        "zone=NXM_NX_REG6[0..15]),output:7",
        # A connection marked by a removed rule that a rule allows again.
        "priority=90,ip,ct_state=+est-rel-rpl+trk,ct_mark=0x1,reg5=7 actions="
        "ct(commit,zone=NXM_NX_REG6[0..15],exec(set_field:0->ct_mark)),output:7",
        "priority=90,ipv6,ct_state=+est-rel-rpl+trk,ct_mark=0x1,reg5=7 actions="
        "ct(commit,zone=NXM_NX_REG6[0..15],exec(set_field:0->ct_mark)),output:7",
        "priority=80,reg5=7 actions=output:7"]


def test_egress_anti_spoofing() -> None:
    lines = of(state([port(mac=MAC, ips=("10.0.0.5", "2001:db8::5"))], []))
    egress = table(lines, 71)
    assert (f"priority=100,arp,reg5=7,dl_src={MAC},arp_sha={MAC},arp_spa=10.0.0.5/32 "
            "actions=resubmit(,94)") in egress
    assert (f"priority=65,ip,reg5=7,dl_src={MAC},nw_src=10.0.0.5/32 "
            "actions=ct(table=72,zone=NXM_NX_REG6[0..15])") in egress
    assert (f"priority=65,ipv6,reg5=7,dl_src={MAC},ipv6_src=2001:db8::5/128 "
            "actions=ct(table=72,zone=NXM_NX_REG6[0..15])") in egress
    # The link-local address of its MAC, as a source and as an ND target.
    assert (f"priority=65,ipv6,reg5=7,dl_src={MAC},ipv6_src=fe80::f816:3eff:fe11:2233/128 "
            "actions=ct(table=72,zone=NXM_NX_REG6[0..15])") in egress
    for target in ("2001:db8::5/128", "fe80::f816:3eff:fe11:2233/128"):
        assert (f"priority=95,icmp6,reg5=7,dl_src={MAC},icmp_type=136,nd_target={target}"
                " actions=resubmit(,94)") in egress
    # DHCP client out; DHCP server and router advertisements from the VM dropped.
    assert (f"priority=95,udp,reg5=7,dl_src={MAC},tp_src=68,tp_dst=67 "
            "actions=resubmit(,73)") in egress
    assert "priority=93,udp,reg5=7,tp_src=67 actions=resubmit(,93)" in egress
    assert "priority=93,udp6,reg5=7,tp_src=547 actions=resubmit(,93)" in egress
    assert "priority=93,icmp6,reg5=7,icmp_type=134 actions=resubmit(,93)" in egress
    assert egress[-1] == "priority=10,reg5=7 actions=resubmit(,93)"
    # No other source: nothing else goes to conntrack or out.
    assert len([f for f in egress if "ct(table=72" in f]) == 3
    assert not any("nd_target" not in f for f in egress if "icmp_type=136" in f)


def test_allowed_address_pairs() -> None:
    pairs = [{"ip_address": "10.0.0.100", "mac_address": None},
             {"ip_address": "10.9.0.0/16", "mac_address": "FA:16:3E:00:00:09"},
             {"ip_address": "0.0.0.0/0", "mac_address": "fa:16:3e:00:00:0a"}]
    lines = of(state([port(mac=MAC, allowed_address_pairs=pairs)], []))
    egress = table(lines, 71)
    assert (f"priority=65,ip,reg5=7,dl_src={MAC},nw_src=10.0.0.100/32 "
            "actions=ct(table=72,zone=NXM_NX_REG6[0..15])") in egress
    assert ("priority=65,ip,reg5=7,dl_src=fa:16:3e:00:00:09,nw_src=10.9.0.0/16 "
            "actions=ct(table=72,zone=NXM_NX_REG6[0..15])") in egress
    # A /0 pair: any source address from that MAC.
    assert ("priority=65,ip,reg5=7,dl_src=fa:16:3e:00:00:0a "
            "actions=ct(table=72,zone=NXM_NX_REG6[0..15])") in egress
    assert ("priority=100,arp,reg5=7,dl_src=fa:16:3e:00:00:0a,arp_sha=fa:16:3e:00:00:0a "
            "actions=resubmit(,94)") in egress
    # Traffic to the pairs' MACs reaches the port too.
    assert [f.split(" ")[0] for f in table(lines, 73)] == [
        f"priority=100,reg6=3,dl_dst={m}" for m in
        (MAC, "fa:16:3e:00:00:09", "fa:16:3e:00:00:0a")]


def test_ingress_base() -> None:
    ingress = table(of(state([port()], [])), 81)
    assert ingress == [
        "priority=100,arp,reg5=7 actions=resubmit(,92)",
        *(f"priority=100,icmp6,reg5=7,icmp_type={t} actions=resubmit(,92)"
          for t in (130, 131, 132, 134, 135, 136, 143)),
        "priority=95,udp,reg5=7,tp_src=67,tp_dst=68 actions=resubmit(,92)",
        "priority=95,udp6,reg5=7,tp_src=547,tp_dst=546 actions=resubmit(,92)",
        "priority=90,ip,reg5=7 actions=ct(table=82,zone=NXM_NX_REG6[0..15])",
        "priority=90,ipv6,reg5=7 actions=ct(table=82,zone=NXM_NX_REG6[0..15])",
        "priority=10,reg5=7 actions=resubmit(,93)"]


def test_stateful_rules() -> None:
    lines = of(state([port()], [rule(protocol="tcp", port_range_min=22,
                                     port_range_max=22),
                                rule("egress")]))
    assert table(lines, 82) == [
        "priority=100,ct_state=+inv+trk,reg5=7 actions=resubmit(,93)",
        "priority=95,ct_state=+rpl+trk,ct_mark=0x1,reg5=7 actions=resubmit(,93)",
        "priority=90,ct_state=+est-rel+rpl,reg5=7 actions=resubmit(,92)",
        "priority=90,ct_state=-new-est+rel-inv,reg5=7 actions=resubmit(,92)",
        "priority=70,ct_state=+new-est,reg5=7,tcp,tp_dst=22 actions=resubmit(,92)",
        "priority=70,ct_state=+est-rel-rpl,reg5=7,tcp,tp_dst=22 actions=resubmit(,92)",
        # An established connection no rule allows any more: marked and dropped.
        "priority=40,ip,ct_state=+est-rel-rpl,reg5=7 actions=ct(commit,"
        "zone=NXM_NX_REG6[0..15],exec(set_field:0x1->ct_mark))",
        "priority=40,ipv6,ct_state=+est-rel-rpl,reg5=7 actions=ct(commit,"
        "zone=NXM_NX_REG6[0..15],exec(set_field:0x1->ct_mark))",
        "priority=10,reg5=7 actions=resubmit(,93)"]
    assert rule_flows(lines, 72) == [
        "priority=70,ct_state=+new-est,reg5=7,ip actions=resubmit(,73)",
        "priority=70,ct_state=+est-rel-rpl,reg5=7,ip actions=resubmit(,73)"]


def test_stateless_port_never_tracks() -> None:
    lines = of(state([port()], [rule(protocol="udp"), rule("egress", protocol="udp")],
                     stateful=False))
    assert table(lines, 82) == ["priority=70,reg5=7,udp actions=resubmit(,92)",
                                "priority=10,reg5=7 actions=resubmit(,93)"]
    assert table(lines, 72) == ["priority=70,reg5=7,udp actions=resubmit(,73)",
                                "priority=10,reg5=7 actions=resubmit(,93)"]
    for number in (71, 72, 81, 82):
        assert not [f for f in table(lines, number) if "ct(" in f or "ct_state" in f]
    assert "priority=90,ip,reg5=7 actions=resubmit(,82)" in table(lines, 81)


def test_group_without_rules_drops_everything_new() -> None:
    lines = of(state([port()], []))
    assert rule_flows(lines, 72) == rule_flows(lines, 82) == []
    # Unknown group ids (the server always sends them, but a port must not fail).
    lines = of(state([port(groups=("missing",))], []))
    assert rule_flows(lines, 82) == []


def test_unfiltered_ports_only_dispatch() -> None:
    for extra in ({"port_security_enabled": False}, {"device_owner": "network:dhcp"}):
        lines = of(state([port(**extra)], [rule()]))
        assert table(lines, 71) == ["priority=10,reg5=7 actions=resubmit(,73)"]
        assert table(lines, 81) == ["priority=10,reg5=7 actions=resubmit(,92)"]
        assert not [f for f in lines if f.startswith(("table=72", "table=82"))]
        assert len(table(lines, 73)) == 1 and len(table(lines, 92)) == 5


def test_duplicate_rules_give_one_flow() -> None:
    lines = of(state([port()], [rule(protocol="tcp"), rule(protocol="6")]))
    assert len(rule_flows(lines, 82)) == 2


# -- the host ---------------------------------------------------------------------------

def test_render_groups_by_cookie() -> None:
    a = port("aaaaaaaa-0000-4000-8000-000000000001")
    b = port("bbbbbbbb-0000-4000-8000-000000000002")
    out = flows.render(state([a, b], []), {a["id"]: BIND})  # b is not on br-int yet
    assert set(out) == {flows.SHARED, flows.port_cookie(7)}
    assert flows.port_cookie(7) == 0x6E66777300000007
    assert out[flows.SHARED] == flows.shared_flows()
    assert "table=91,priority=1 actions=resubmit(,94)" in out[flows.SHARED]
    assert "table=93,priority=1 actions=drop" in out[flows.SHARED]


def test_bundle_text() -> None:
    want = {flows.SHARED: ["s"], 0x6E66777300000007: ["a1", "a2"]}
    text, result = bundle_text(want, None)
    assert text.splitlines() == [
        "delete cookie=0x6e66777300000000/0xffffffff00000000",
        "add cookie=0x6e66777300000000,s",
        "add cookie=0x6e66777300000007,a1", "add cookie=0x6e66777300000007,a2"]
    assert result == ApplyResult(2, 0, 3)
    assert bundle_text(want, want) == ("", ApplyResult(0, 0, 0))
    changed = {**want, 0x6E66777300000007: ["a1"], 0x6E66777300000008: ["b"]}
    text, result = bundle_text(changed, {**want, 0x6E66777300000009: ["c"]})
    assert text.splitlines() == [
        "delete cookie=0x6e66777300000007/-1", "delete cookie=0x6e66777300000008/-1",
        "delete cookie=0x6e66777300000009/-1",
        "add cookie=0x6e66777300000007,a1", "add cookie=0x6e66777300000008,b"]
    assert result == ApplyResult(2, 1, 2) and result.changed
    assert bundle_text({}, None)[0] == (
        "delete cookie=0x6e66777300000000/0xffffffff00000000\n")


def test_installed_from_diff() -> None:
    """A restarted agent's first apply: only the cookies diff-flows shows differing
    (or only on the bridge) are rewritten; the agent's own flows in the diff (not
    in the firewall's file) are not the firewall's business."""
    shared, a, b, gone = (flows.SHARED, 0x6E66777300000007, 0x6E66777300000008,
                          0x6E66777300000009)
    want = {shared: ["s"], a: ["a1", "a2"], b: ["b1"]}
    # diff-flows' own format (ovs-ofctl 3.x)
    agent_flow = "-table=60 priority=3 cookie=0xa006481306c1 actions=resubmit(,94)"
    assert installed_from_diff(want, [agent_flow, ""]) == want
    assert bundle_text(want, installed_from_diff(want, [agent_flow]))[0] == ""
    diff = [agent_flow,
            "-table=71 priority=95,in_port=7 cookie=0x6e66777300000007 actions=drop",
            "+table=71 priority=95,in_port=7 cookie=0x6e66777300000007 actions=NORMAL",
            "-table=81 priority=90 cookie=0x6e66777300000009 actions=drop",
            "-priority=0 actions=NORMAL"]  # cookie 0: not ours either
    have = installed_from_diff(want, diff)
    assert have == {shared: ["s"], b: ["b1"], gone: []}
    text, result = bundle_text(want, have)
    assert text.splitlines() == [
        "delete cookie=0x6e66777300000007/-1", "delete cookie=0x6e66777300000009/-1",
        "add cookie=0x6e66777300000007,a1", "add cookie=0x6e66777300000007,a2"]
    assert result == ApplyResult(1, 1, 2)


# -- properties ---------------------------------------------------------------------------

FLOW = re.compile(r"^table=(\d+),priority=(\d+)(,\S+)? actions=(\S+)$")


@settings(max_examples=150, deadline=None)
@given(states(), st.randoms())
def test_render_properties(desired: dict, rnd: random.Random) -> None:
    bindings = {p["id"]: Binding(10 + i, 1 + i % 3) for i, p in enumerate(desired["ports"])}
    out = flows.render(desired, bindings)
    again = dict(desired, ports=rnd.sample(desired["ports"], len(desired["ports"])))
    assert flows.render(again, bindings) == out  # port order does not matter
    assert len([c for c in out if not c & flows.GROUP_COOKIE_BIT]) == \
        len(desired["ports"]) + 1
    for cookie, lines in out.items():
        assert cookie & flows.COOKIE_MASK == flows.COOKIE_BASE
        assert len(lines) == len(set(lines))
        if cookie & flows.GROUP_COOKIE_BIT:  # a remote's members: clause 1/2 only
            assert all(re.search(r",reg6=\d+,ipv?6?[, ].* actions=(conjunction"
                                 r"\(\d+,1/2\),?)+$", line) for line in lines), lines
            continue
        ofport = cookie & 0xFFFF
        for line in lines:
            found = FLOW.match(line)
            assert found, line
            number, match, actions = int(found[1]), found[3] or "", found[4]
            assert number in flows.TABLES
            for target in re.findall(r"resubmit\(,(\d+)\)|table=(\d+)", actions):
                assert int(target[0] or target[1]) in [*flows.TABLES, flows.NORMAL]
            if "ct(" in actions:  # ct() needs an IP match
                assert re.search(r",(ip|ipv6|tcp6?|udp6?|sctp6?|icmp6?)(,|$)", match), line
            if ofport:  # every flow of a port is about that port only
                assert (f"reg5={ofport}" in match or f"in_port={ofport}" in match
                        or f"set_field:{ofport}->reg5" in actions), line
    for p in desired["ports"]:
        lines = out[flows.port_cookie(bindings[p["id"]].ofport)]
        stateful = flows.iptables.is_stateful(p, desired["security_groups"])
        tracked = [f for f in lines if "ct(table=" in f]
        filtered = flows.iptables.is_filtered(p)
        assert bool(tracked) == (filtered and stateful)
