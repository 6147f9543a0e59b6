"""The QoS plan (pure): layout from the desired state, tc actions from observed
state (every combination of wanted/present), the nftables table, tc JSON parsing."""

from __future__ import annotations

import itertools

import pytest

from neutrino.agent.qos.driver import tc_state
from neutrino.agent.qos.plan import (
    Limit,
    TcState,
    Want,
    layout,
    needs_nft,
    plan_tc,
    render_nft,
)

PORT = "0123456789abcdef"
TAP = "tap" + PORT[:11]
IFB = "ifb" + PORT[:11]


def desired(*rules: dict, owner: str = "compute:nova") -> dict:
    return {"ports": [{"id": PORT, "device": TAP, "qos_rules": list(rules),
                       "device_owner": owner}]}


def bw(kbps: int, direction: str = "egress", burst: int = 0) -> dict:
    return {"type": "bandwidth_limit", "max_kbps": kbps, "max_burst_kbps": burst,
            "direction": direction}


def test_limit_from_rule() -> None:
    assert Limit.from_rule(2000, 0) == Limit(rate=250_000, burst=200_000)  # 80%
    assert Limit.from_rule(2000, 100) == Limit(rate=250_000, burst=12_500)
    assert Limit.from_rule(8, 0).burst == 1600  # never below a frame
    assert Limit(1000, 1000).matches(Limit(1005, 995))
    assert not Limit(1000, 1000).matches(Limit(1100, 1000))
    assert not Limit(1000, 1000).matches(None)


def test_layout() -> None:
    want = layout(desired(bw(1000), bw(500, "ingress"),
                          {"type": "dscp_marking", "dscp_mark": 26},
                          {"type": "minimum_bandwidth", "min_kbps": 5,
                           "direction": "egress"}))
    port = want.ports[TAP]
    assert port.egress == Limit.from_rule(1000, 0)
    assert port.ingress == Limit.from_rule(500, 0)
    assert port.dscp == 26 and port.ifb == IFB
    assert layout(desired()).ports == {}
    assert layout({"ports": [{"id": PORT, "device": TAP}]}).ports == {}


def test_converged_state_plans_nothing() -> None:
    want = layout(desired(bw(1000), bw(500, "ingress")))
    have = {TAP: TcState(root=Limit.from_rule(500, 0), ingress_qdisc=True,
                         ingress_redirect=IFB, ifb_exists=True,
                         ifb_root=Limit.from_rule(1000, 0))}
    assert plan_tc(want, have, {IFB}) == []


def test_fresh_tap_gets_everything() -> None:
    want = layout(desired(bw(1000), bw(500, "ingress")))
    ops = [(a.op, a.device, a.target) for a in plan_tc(want, {TAP: TcState()}, set())]
    assert ops == [("set_tbf", TAP, None), ("ensure_ifb", IFB, None),
                   ("set_tbf", IFB, None), ("redirect_ingress", TAP, IFB)]


def test_rules_gone_removes_only_ours() -> None:
    have = {TAP: TcState(root=Limit(1, 1600), ingress_qdisc=True, ingress_redirect=IFB,
                         ifb_exists=True, ifb_root=Limit(1, 1600))}
    ops = [(a.op, a.device) for a in plan_tc(Want(), have, {IFB, "ifbother1234"})]
    assert ops == [("delete_root", TAP), ("delete_ingress", TAP),
                   ("delete_link", IFB), ("delete_link", "ifbother1234")]
    # A tap without QoS and a foreign root qdisc: left alone.
    assert plan_tc(Want(), {TAP: TcState(other_root=True)}, set()) == []


def test_changed_rate_replaces_the_tbf_only() -> None:
    want = layout(desired(bw(3000)))
    have = {TAP: TcState(ingress_qdisc=True, ingress_redirect=IFB, ifb_exists=True,
                         ifb_root=Limit.from_rule(1000, 0))}
    [action] = plan_tc(want, have, {IFB})
    assert (action.op, action.device, action.limit) == ("set_tbf", IFB,
                                                       Limit.from_rule(3000, 0))


@pytest.mark.parametrize("egress,ingress,root,redirect,ifb", list(itertools.product(
    [None, 1000], [None, 500], [False, True], [False, True], [False, True])))
def test_plan_converges(egress: int | None, ingress: int | None, root: bool,
                        redirect: bool, ifb: bool) -> None:
    """Whatever is there, applying the plan's actions to the state gives a state
    the plan has nothing more to do for (exhaustive over the small state space)."""
    rules = ([bw(egress)] if egress else []) + ([bw(ingress, "ingress")] if ingress else [])
    want = layout(desired(*rules))
    state = TcState(root=Limit(7, 1600) if root else None, ingress_qdisc=redirect,
                    ingress_redirect=IFB if redirect else None, ifb_exists=ifb,
                    ifb_root=Limit(7, 1600) if ifb else None)
    ifbs = {IFB} if ifb else set()
    for action in plan_tc(want, {TAP: state}, ifbs):
        if action.op == "set_tbf" and action.device == TAP:
            state.root = action.limit
        elif action.op == "set_tbf":
            state.ifb_root = action.limit
        elif action.op == "delete_root":
            state.root = None
        elif action.op == "ensure_ifb":
            state.ifb_exists = True
            ifbs.add(IFB)
        elif action.op == "delete_link":
            state.ifb_exists, state.ifb_root = False, None
            ifbs.discard(action.device)
        elif action.op == "redirect_ingress":
            state.ingress_qdisc, state.ingress_redirect = True, action.target
        elif action.op == "delete_ingress":
            state.ingress_qdisc, state.ingress_redirect = False, None
    assert plan_tc(want, {TAP: state}, ifbs) == []
    assert (state.root is not None) == bool(ingress)
    assert state.ingress_qdisc == bool(egress) and (IFB in ifbs) == bool(egress)


def test_render_nft() -> None:
    want = layout(desired({"type": "dscp_marking", "dscp_mark": 46}))
    text = render_nft(want)
    assert text.startswith("table bridge neutrino_qos\ndelete table bridge neutrino_qos\n")
    assert f'iifname "{TAP}" ether type ip ip dscp set 46' in text
    assert f'iifname "{TAP}" ether type ip6 ip6 dscp set 46' in text
    assert needs_nft(want)
    assert not needs_nft(layout(desired(bw(10))))


def test_tc_state_from_json() -> None:
    qdiscs = [{"kind": "tbf", "handle": "1:", "root": True,
               "options": {"rate": 250000, "burst": 200000, "lat": 50000}},
              {"kind": "ingress", "handle": "ffff:", "parent": "ffff:fff1", "options": {}}]
    filters = [{"protocol": "all", "kind": "u32"},
               {"kind": "u32", "options": {"actions": [
                   {"kind": "mirred", "mirred_action": "redirect", "to_dev": IFB}]}}]
    state = tc_state(qdiscs, filters)
    assert state.root == Limit(250000, 200000) and state.ingress_qdisc
    assert state.ingress_redirect == IFB and not state.other_root
    plain = tc_state([{"kind": "noqueue", "root": True, "options": {}}], [])
    assert plain == TcState()
    assert tc_state([{"kind": "htb", "root": True, "options": {}}], []).other_root
