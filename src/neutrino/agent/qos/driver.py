"""Applies the QoS plan (plan.py) to a host: observes tc state of the taps and the
ifb devices, runs the planned tc actions, replaces the nftables table.

`QosDriver.apply(desired)` is the whole reconcile: start-up, resync and events call
it alike; with nothing changed it runs no command but the observations.
"""

from __future__ import annotations

import logging

from neutrino.agent.common import privileged
from neutrino.agent.qos import plan as qos_plan
from neutrino.agent.qos.plan import Limit, TcAction, TcState
from neutrino.contract.l2 import L2State

LOG = logging.getLogger(__name__)


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | str) else 0


def tc_state(qdiscs: list[dict[str, object]], filters: list[dict[str, object]]
             ) -> TcState:
    """TcState of one device from `tc -j qdisc show` / `tc -j filter show` output."""
    state = TcState()
    for qdisc in qdiscs:
        kind = qdisc.get("kind")
        if qdisc.get("root"):
            options = qdisc.get("options")
            options = options if isinstance(options, dict) else {}
            if kind == "tbf" and "rate" in options:
                state.root = Limit(_int(options["rate"]), _int(options.get("burst", 0)))
            elif kind not in ("noqueue", "pfifo_fast", "fq_codel", None):
                state.other_root = True
        if kind == "ingress":
            state.ingress_qdisc = True
    for item in filters:
        options = item.get("options")
        actions = options.get("actions") if isinstance(options, dict) else None
        for action in actions if isinstance(actions, list) else []:
            if not isinstance(action, dict):
                continue
            to_dev = action.get("to_dev")
            if action.get("kind") == "mirred" and isinstance(to_dev, str) and to_dev:
                state.ingress_redirect = to_dev
    return state


class QosDriver:
    def __init__(self, namespace: str | None = None) -> None:
        self.namespace = namespace

    def observe(self, taps: list[str]) -> tuple[dict[str, TcState], set[str]]:
        """tc state of each tap (and of its port's ifb), and the ifbs present."""
        ns = self.namespace
        every = privileged.tc_json(["qdisc", "show"], ns)
        ifbs = {str(q["dev"]) for q in every
                if str(q.get("dev", "")).startswith(qos_plan.IFB_PREFIX)}
        by_dev: dict[str, list[dict[str, object]]] = {}  # one pass: 1,000 taps x 2,000 qdiscs
        for qdisc in every:
            by_dev.setdefault(str(qdisc.get("dev", "")), []).append(qdisc)
        have: dict[str, TcState] = {}
        for tap in taps:
            qdiscs = by_dev.get(tap, [])
            filters = privileged.tc_json(
                ["filter", "show", "dev", tap, "parent", "ffff:"], ns) \
                if any(q.get("kind") == "ingress" for q in qdiscs) else []
            state = tc_state(qdiscs, filters)
            ifb = qos_plan.IFB_PREFIX + tap[len(qos_plan.TAP_PREFIX):]
            if ifb in ifbs:
                state.ifb_exists = True
                state.ifb_root = tc_state(by_dev.get(ifb, []), []).root
            have[tap] = state
        return have, ifbs

    def apply(self, desired: L2State, taps: list[str]) -> list[TcAction]:
        """Converge the taps present (`taps`) to the desired state's QoS rules."""
        want = qos_plan.layout(desired)
        have, ifbs = self.observe(taps)
        done: list[TcAction] = []
        for action in qos_plan.plan_tc(want, have, ifbs):
            self._run(action)
            LOG.info("qos: %s", action)
            done.append(action)
        self._apply_nft(want)
        return done

    def _run(self, action: TcAction) -> None:
        ns = self.namespace
        if action.op == "set_tbf":
            assert action.limit is not None
            privileged.tc_set_tbf(action.device, action.limit.rate, action.limit.burst,
                                  qos_plan.LATENCY_MS, ns)
        elif action.op == "delete_root":
            privileged.tc_delete_root(action.device, ns)
        elif action.op == "ensure_ifb":
            privileged.ensure_ifb(action.device, ns)
        elif action.op == "delete_link":
            privileged.execute(["ip", "link", "del", action.device], ns, check=False)
        elif action.op == "redirect_ingress":
            assert action.target is not None
            privileged.tc_redirect_ingress(action.device, action.target, ns)
        elif action.op == "delete_ingress":
            privileged.tc_delete_ingress(action.device, ns)
        else:
            raise ValueError(f"unknown QoS action {action.op}")

    def _apply_nft(self, want: qos_plan.Want) -> None:
        ns = self.namespace
        present = privileged.nft_table_comment(qos_plan.NFT_FAMILY, qos_plan.NFT_TABLE,
                                               ns) is not None
        if qos_plan.needs_nft(want):
            privileged.nft_apply(qos_plan.render_nft(want), ns)
        elif present:
            privileged.nft_delete_table(qos_plan.NFT_FAMILY, qos_plan.NFT_TABLE, ns)
