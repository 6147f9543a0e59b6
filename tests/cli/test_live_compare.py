"""trace --live's comparisons (neutrino.cli.live), on kernel text: no root needed."""

from __future__ import annotations

from neutrino.agent.common.privileged import Link
from neutrino.agent.firewall import render
from neutrino.cli import live
from neutrino.cli import trace_logic as t
from neutrino.contract import names

PORT = {"id": "1234567890abcdef", "name": "vm", "network_id": "netnetnetnet0000",
        "port_security_enabled": True, "device_owner": "compute:nova",
        "security_groups": ["sg-1"]}
SSH = {"id": "r-ssh", "direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
       "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "0.0.0.0/0",
       "remote_group_id": None, "remote_address_group_id": None}
MEMBERS = dict(SSH, id="r-members", protocol=None, port_range_min=None,
               port_range_max=None, remote_ip_prefix=None, remote_group_id="sg-1")
GROUPS = {"sg-1": {"id": "sg-1", "security_group_rules": [SSH, MEMBERS]}}
INGRESS = render.port_chain(render.INGRESS_PREFIX, PORT["id"])
EGRESS = render.port_chain(render.EGRESS_PREFIX, PORT["id"])
SET = render.set_name(render.REMOTE_GROUP_SET_PREFIX, 4, "sg-1")


def saved(*ingress_rules: str) -> str:
    lines = ["*filter", f":{INGRESS} - [0:0]", f":{EGRESS} - [0:0]",
             *(f"-A {INGRESS} {r}" for r in ingress_rules), f"-A {INGRESS} -j DROP",
             f"-A {EGRESS} -j DROP", "COMMIT"]
    return "\n".join(lines) + "\n"


SSH_LINE = "-p tcp -m tcp --dport 22 -j RETURN"
MEMBERS_LINE = f"-m set --match-set {SET} src -j RETURN"


def test_expected_rules_are_the_agents_lines() -> None:
    assert live.expected_rules(PORT, GROUPS, "ingress", 4) == {
        "r-ssh": f"-A {INGRESS} {SSH_LINE}", "r-members": f"-A {INGRESS} {MEMBERS_LINE}"}
    assert live.expected_rules(PORT, GROUPS, "egress", 4) == {}


def test_firewall_in_agreement() -> None:
    hops = live.firewall_hops(PORT, GROUPS, 4, saved(SSH_LINE, MEMBERS_LINE),
                              f"create {SET} hash:net family inet\nadd {SET} 10.0.0.5\n",
                              {"r-members": "10.0.0.5"})
    assert [h.verdict for h in hops] == [t.OK]


def test_rules_in_the_group_chain_the_port_chain_goes_to() -> None:
    """As the agent writes them since session 8: the port chain `-g`oes to its
    groups' chain, where the rules are (render.port_chains)."""
    group = render.group_chain(render.GROUP_INGRESS_PREFIX, ["sg-1"])
    text = "\n".join(["*filter", f":{INGRESS} - [0:0]", f":{EGRESS} - [0:0]",
                      f":{group} - [0:0]", f"-A {INGRESS} -g {group}",
                      f"-A {group} {SSH_LINE}", f"-A {group} {MEMBERS_LINE}",
                      f"-A {group} -j DROP", f"-A {EGRESS} -j DROP", "COMMIT"]) + "\n"
    hops = live.firewall_hops(PORT, GROUPS, 4, text,
                              f"create {SET} hash:net family inet\nadd {SET} 10.0.0.5\n",
                              {"r-members": "10.0.0.5"})
    assert [h.verdict for h in hops] == [t.OK]
    (hop,) = live.firewall_hops(PORT, GROUPS, 4, text.replace(f"-A {group} {SSH_LINE}\n",
                                                              ""), "", {"r-ssh": "10.0.0.5"})
    assert hop.verdict == t.BLOCKED and hop.rule_id == "r-ssh"


def test_missing_rule_blocks_when_the_verdict_rests_on_it() -> None:
    text = saved(MEMBERS_LINE)
    (hop,) = live.firewall_hops(PORT, GROUPS, 4, text, "", {"r-ssh": "10.0.0.5"})
    assert hop.verdict == t.BLOCKED and hop.rule_id == "r-ssh"
    (hop,) = live.firewall_hops(PORT, GROUPS, 4, text, "", {})
    assert hop.verdict == t.WARN


def test_remote_group_set_must_hold_the_peer() -> None:
    hops = live.firewall_hops(PORT, GROUPS, 4, saved(SSH_LINE, MEMBERS_LINE),
                              f"create {SET} hash:net family inet\nadd {SET} 10.0.0.9\n",
                              {"r-members": "10.0.0.5"})
    assert [h.detail for h in hops] == [
        f"set {SET} (members of group sg-1) lacks 10.0.0.5"]


def test_missing_chain_and_unfiltered_port() -> None:
    hops = live.firewall_hops(PORT, GROUPS, 4, "*filter\nCOMMIT\n", "", {})
    assert [h.verdict for h in hops] == [t.BLOCKED, t.BLOCKED]
    open_port = dict(PORT, port_security_enabled=False)
    assert live.firewall_hops(open_port, GROUPS, 4, "*filter\nCOMMIT\n", "",
                              {})[0].verdict == t.OK
    assert live.firewall_hops(open_port, GROUPS, 4, saved(), "", {})[0].verdict == t.WARN


def link(name: str, master: str | None = None, up: bool = True) -> Link:
    return Link(name, 1, None, master, 1500, up, None)


def test_bridge_membership() -> None:
    tap, bridge = names.tap_device(PORT["id"]), names.bridge(PORT["network_id"])
    assert (tap, bridge) == ("tap1234567890a", "brqnetnetnetne")
    assert live.bridge_hops(PORT, {})[0].verdict == t.BLOCKED
    assert "master: none" in live.bridge_hops(PORT, {tap: link(tap)})[0].detail
    good = {tap: link(tap, bridge), bridge: link(bridge)}
    assert live.bridge_hops(PORT, good)[0].verdict == t.OK
    assert live.bridge_hops(PORT, {tap: link(tap, bridge), bridge: link(bridge, up=False)}
                            )[0].verdict == t.WARN


def test_nat_mapping() -> None:
    fip = {"floating_ip_address": "203.0.113.5", "fixed_ip_address": "10.0.0.5",
           "router_id": "r1"}
    table = ("table ip neutrino-nat {\n\tchain prerouting {\n"
             "\t\tip daddr 203.0.113.5 dnat to 10.0.0.5\n\t}\n}\n")
    assert live.nat_hop(fip, table).verdict == t.OK
    assert "has no DNAT" in live.nat_hop(fip, "table ip neutrino-nat {\n}\n").detail
    assert live.nat_hop(fip, None).verdict == t.BLOCKED
