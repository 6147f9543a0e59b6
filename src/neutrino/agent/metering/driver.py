"""The metering agent's dataplane: one nftables table per router namespace
(render.py), made, replaced, read and removed through agent/common/privileged.py.

`MeterDriver.measure(state)` is the whole work, idempotent and level-triggered:

1. for every router of the state with a table to have whose ``qrouter-`` namespace
   exists (the L3 agent makes it; until then there is nothing to count): read and
   reset its counters; replace the table when the kernel's digest differs;
2. in every other router namespace of ours that still has our table (a label, the
   gateway or the router gone): read its last counters, delete the table;
3. answer the counts read, summed per label.

Ours, as for the L3 agent (same host name): a ``qrouter-`` namespace whose loopback
alias names this host, and with ``own_all_namespaces`` those without an alias. Only
the ``neutrino-meter`` table is ever touched there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from neutrino.agent.common import privileged
from neutrino.agent.common.privileged import Kernel
from neutrino.agent.l3 import plan as l3_plan
from neutrino.agent.metering import render
from neutrino.agent.metering.render import Counts
from neutrino.contract import names
from neutrino.contract.metering import MeteringState

LOG = logging.getLogger(__name__)


@dataclass
class Measurement:
    counts: Counts = field(default_factory=dict)
    labels: set[str] = field(default_factory=set)   # counted on this host now
    tables: int = 0                                   # tables in place
    failed: list[tuple[str, str]] = field(default_factory=list)  # (router, error)


class MeterDriver:
    def __init__(self, host: str, own_all_namespaces: bool = True) -> None:
        self.owner_alias = l3_plan.OWNER_ALIAS.format(host)
        self.own_all_namespaces = own_all_namespaces

    def measure(self, state: MeteringState) -> Measurement:
        out = Measurement()
        wanted: set[str] = set()
        for router in state["routers"]:
            table = render.render(router)
            if table is None:
                continue
            namespace = names.router_namespace(router["id"])
            wanted.add(namespace)
            try:
                if self._ensure(namespace, table, out):
                    out.labels.update(table.labels)
                    out.tables += 1
            except Exception as error:  # noqa: BLE001 - the other routers still count
                LOG.exception("metering of router %s failed", router["id"])
                out.failed.append((router["id"], str(error)))
        for namespace in privileged.namespaces():
            if (namespace.startswith(names.ROUTER_NAMESPACE_PREFIX)
                    and namespace not in wanted and self._owned(namespace)):
                try:
                    self._remove(namespace, out)
                except Exception as error:  # noqa: BLE001 - retried at the next tick
                    LOG.warning("removing metering from %s failed: %s", namespace, error)
        return out

    def _ensure(self, namespace: str, table: render.MeterTable, out: Measurement
                ) -> bool:
        """Counters read, table in place; False when the namespace is not there."""
        if not privileged.namespace_exists(namespace):
            return False
        current = privileged.nft_table_comment(render.FAMILY, render.TABLE, namespace)
        if current is not None:
            out.counts = render.add_counts(out.counts, _reset_counters(namespace))
        if current != table.comment:
            privileged.nft_apply(render.replace_batch(table), namespace)
            LOG.info("metering table of %s %s (%d labels)", namespace,
                     "replaced" if current is not None else "created", len(table.labels))
        return True

    def _remove(self, namespace: str, out: Measurement) -> None:
        if privileged.nft_table_comment(render.FAMILY, render.TABLE, namespace) is None:
            return
        out.counts = render.add_counts(out.counts, _reset_counters(namespace))
        privileged.nft_apply(render.delete_batch(), namespace)
        LOG.info("metering table of %s removed", namespace)

    def _owned(self, namespace: str) -> bool:
        try:
            with Kernel(namespace) as kernel:
                alias = kernel.link_alias("lo")
        except Exception:  # noqa: BLE001 - gone meanwhile: not ours to touch
            return False
        return alias == self.owner_alias or (not alias and self.own_all_namespaces)


def _reset_counters(namespace: str) -> Counts:
    """The table's counters, zeroed as they are read (one netlink request per
    counter: nothing counted in between is lost)."""
    listing = privileged.execute(
        ["nft", "-j", "reset", "counters", "table", render.FAMILY, render.TABLE],
        namespace)
    return render.counters(listing)
