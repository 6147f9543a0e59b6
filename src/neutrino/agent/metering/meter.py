"""What the metering agent accumulates between two ``l3.meter`` reports. Pure.

As upstream's agent: every measurement adds the counts read since the previous one
to each label's totals (a label with no traffic is measured too: its ``time`` and
``last_update`` move); every ``report_interval`` seconds each label's totals become
one report and start again from zero; a label not measured for ``report_interval``
seconds (gone from every router) is forgotten after its last report. The first
report is due at the first measurement (upstream's agent starts with its last
report at time 0).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from neutrino.agent.metering.render import Counts
from neutrino.contract.metering import MeterReport


@dataclass
class LabelTotals:
    pkts: int
    bytes: int
    time: int
    first_update: int
    last_update: int


class Meter:
    def __init__(self, report_interval: float) -> None:
        self.report_interval = report_interval
        self.totals: dict[str, LabelTotals] = {}
        self.last_report = 0.0

    def add(self, counts: Counts, labels: Iterable[str], now: int) -> None:
        """One measurement at `now` (epoch seconds) of `labels` (those counted on
        this host now) with the `counts` read (labels without any count: zero;
        counts of labels no longer there, read from a table being removed, too)."""
        for label in sorted(set(labels) | set(counts)):
            packets, size = counts.get(label, (0, 0))
            totals = self.totals.get(label)
            if totals is None:
                totals = self.totals[label] = LabelTotals(0, 0, 0, now, now)
            totals.pkts += packets
            totals.bytes += size
            totals.time += now - totals.last_update
            totals.last_update = now

    def due(self, now: float) -> bool:
        return now - self.last_report >= self.report_interval

    def report(self, now: int, host: str, tenants: Mapping[str, str | None]
               ) -> list[MeterReport]:
        """Every label's report (upstream's payload), totals reset, stale labels
        forgotten."""
        out: list[MeterReport] = []
        for label, totals in sorted(self.totals.items()):
            out.append({"label_id": label, "tenant_id": tenants.get(label),
                        "pkts": totals.pkts, "bytes": totals.bytes, "time": totals.time,
                        "first_update": totals.first_update,
                        "last_update": totals.last_update, "host": host})
            totals.pkts = totals.bytes = totals.time = 0
        deadline = now - self.report_interval
        self.totals = {label: totals for label, totals in self.totals.items()
                       if totals.last_update >= deadline}
        self.last_report = now
        return out
