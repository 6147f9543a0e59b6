"""The router's bandwidth limits (agent/l3/qos.py, pure): which addresses are
limited, the exact tc commands for egress and ingress, the digest, and the checks
that decide whether the kernel's set-up is current."""

from __future__ import annotations

from neutrino.agent.l3 import qos
from neutrino.agent.qos.plan import Limit

from .test_l3_nat import GW_PORT, QG, fip, router
from .test_l3_port_forwarding import forwarding_fip, pf

IFB = "ifb-" + GW_PORT[:11]


def bw(max_kbps: int, direction: str, burst: int = 0) -> dict:
    return {"id": f"r-{direction}", "type": "bandwidth_limit", "max_kbps": max_kbps,
            "max_burst_kbps": burst, "direction": direction}


def limited(floating: str, fixed: str | None, *rules: dict) -> dict:
    return dict(fip(floating, fixed), qos_rules=list(rules))


def test_limited_addresses() -> None:
    r = router(fips=[
        limited("172.24.4.20", "10.0.0.9", bw(1000, "egress"), bw(2000, "ingress")),
        limited("172.24.4.10", "10.0.0.8", bw(500, "egress")),
        limited("172.24.4.30", None, bw(500, "egress")),   # not carried: no port
        dict(forwarding_fip("172.24.4.40", pf()), qos_rules=[bw(300, "ingress")]),
        limited("172.24.4.50", "10.0.0.7",
                {"id": "d", "type": "dscp_marking", "dscp_mark": 10})])
    r["gateway_qos_rules"] = [bw(8000, "egress", burst=1000)]
    got = qos.address_limits(r)
    assert [a.address for a in got] == ["172.24.4.10", "172.24.4.20", "172.24.4.40",
                                        "172.24.4.67"]
    assert got[1] == qos.AddressLimit("172.24.4.20", Limit(125000, 100000),
                                      Limit(250000, 200000))
    assert got[2].egress is None and got[2].ingress == Limit.from_rule(300, 0)
    assert got[3].egress == Limit(1000000, 125000)  # the burst given, in bytes


def test_exact_commands() -> None:
    r = router(fips=[limited("172.24.4.20", "10.0.0.9", bw(1000, "egress"),
                             bw(2000, "ingress"))])
    r["gateway_qos_rules"] = [bw(8000, "egress")]
    plan = qos.plan(r)
    assert plan is not None
    assert (plan.device, plan.ifb) == (QG, IFB)
    assert [" ".join(c) for c in plan.commands] == [
        f"qdisc replace dev {QG} root handle 1: htb",
        f"class add dev {QG} parent 1: classid 1:10 htb rate 1000000bit ceil 1000000bit "
        "burst 100000",
        f"filter add dev {QG} parent 1: protocol ip prio 1 u32 match ip src "
        "172.24.4.20/32 flowid 1:10",
        f"class add dev {QG} parent 1: classid 1:11 htb rate 8000000bit ceil 8000000bit "
        "burst 800000",
        f"filter add dev {QG} parent 1: protocol ip prio 1 u32 match ip src "
        "172.24.4.67/32 flowid 1:11",
        f"qdisc replace dev {IFB} root handle 1: htb",
        f"class add dev {IFB} parent 1: classid 1:10 htb rate 2000000bit ceil 2000000bit "
        "burst 200000",
        f"filter add dev {IFB} parent 1: protocol ip prio 1 u32 match ip dst "
        "172.24.4.20/32 flowid 1:10",
        f"qdisc add dev {QG} handle ffff: ingress",
        f"filter add dev {QG} parent ffff: protocol ip prio 1 u32 match ip dst "
        f"172.24.4.20/32 action mirred egress redirect dev {IFB}"]
    assert plan.alias.startswith(qos.ALIAS_PREFIX)


def test_no_plan_without_limits_or_gateway() -> None:
    assert qos.plan(router(fips=[fip("172.24.4.20", "10.0.0.9")])) is None
    no_gateway = router(gateway=None, fips=[limited("172.24.4.20", "10.0.0.9",
                                                    bw(1000, "egress"))])
    assert qos.plan(no_gateway) is None
    # an egress-only set-up has no ingress qdisc
    plan = qos.plan(router(fips=[limited("172.24.4.20", "10.0.0.9", bw(1000, "egress"))]))
    assert plan is not None and not any("ingress" in c for c in plan.commands)


def test_digest_and_up_to_date() -> None:
    one = qos.plan(router(fips=[limited("172.24.4.20", "10.0.0.9", bw(1000, "egress"))]))
    two = qos.plan(router(fips=[limited("172.24.4.20", "10.0.0.9", bw(1001, "egress"))]))
    assert one is not None and two is not None and one.alias != two.alias
    assert qos.up_to_date(one, {IFB: one.alias})
    assert not qos.up_to_date(one, {IFB: two.alias})
    assert not qos.up_to_date(one, {})
    assert not qos.up_to_date(one, {IFB: one.alias, "ifb-other": one.alias})
    assert qos.up_to_date(None, {})
    assert not qos.up_to_date(None, {IFB: one.alias})


def test_qdiscs_in_place() -> None:
    both = qos.plan(router(fips=[limited("172.24.4.20", "10.0.0.9", bw(1000, "egress"),
                                         bw(1000, "ingress"))]))
    assert both is not None
    htb = {"kind": "htb", "handle": "1:", "root": True}
    ingress = {"kind": "ingress", "handle": "ffff:", "parent": "ffff:fff1"}
    assert qos.qdiscs_in_place(both, [htb, ingress])
    assert not qos.qdiscs_in_place(both, [htb])
    assert not qos.qdiscs_in_place(both, [{"kind": "noqueue", "root": True}, ingress])
    ingress_only = qos.plan(router(fips=[limited("172.24.4.20", "10.0.0.9",
                                                 bw(1000, "ingress"))]))
    assert ingress_only is not None
    assert qos.qdiscs_in_place(ingress_only, [ingress])
    assert not qos.qdiscs_in_place(ingress_only, [])
