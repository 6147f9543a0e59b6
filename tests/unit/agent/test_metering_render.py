"""The metering agent's pure parts: a router's nft table (render.py), the counters
read back, and the totals between two l3.meter reports (meter.py)."""

from __future__ import annotations

import json

from neutrino.agent.metering import render
from neutrino.agent.metering.meter import Meter
from neutrino.contract.metering import MeteringLabel, MeteringRouter, MeteringRule

QG = "qg-0123456789a"


def _rule(rule_id: str, direction: str = "ingress", excluded: bool = False,
          remote: str | None = None, source: str | None = None,
          destination: str | None = None) -> MeteringRule:
    return {"id": rule_id, "direction": direction, "excluded": excluded,  # type: ignore[typeddict-item]
            "remote_ip_prefix": remote, "source_ip_prefix": source,
            "destination_ip_prefix": destination}


def _label(label_id: str, *rules: MeteringRule) -> MeteringLabel:
    return {"id": label_id, "name": "", "shared": False, "project_id": "p",
            "rules": list(rules)}


def _router(*labels: MeteringLabel, gateway: str | None = QG) -> MeteringRouter:
    return {"id": "r1", "name": "", "project_id": "p", "admin_state_up": True,
            "gateway_device": gateway, "labels": list(labels)}


def test_matches_follow_upstreams_driver() -> None:
    # New style: direction picks the gateway side, prefixes the packet's addresses.
    assert render.match(_rule("a", "egress", source="10.0.0.5/24"), QG) == \
        f'ip saddr 10.0.0.0/24 oifname "{QG}"'
    assert render.match(_rule("a", "ingress", destination="10.0.0.0/24",
                              source="0.0.0.0/0"), QG) == \
        f'ip saddr 0.0.0.0/0 ip daddr 10.0.0.0/24 iifname "{QG}"'
    assert render.match(_rule("a", "egress", destination="2001:db8::/32"), QG) == \
        f'ip6 daddr 2001:db8::/32 oifname "{QG}"'
    # Legacy remote_ip_prefix: the internal side (source out, destination in).
    assert render.match(_rule("a", "egress", remote="10.0.0.0/24"), QG) == \
        f'ip saddr 10.0.0.0/24 oifname "{QG}"'
    assert render.match(_rule("a", "ingress", remote="10.0.0.0/24"), QG) == \
        f'ip daddr 10.0.0.0/24 iifname "{QG}"'
    # Families mixed: matches nothing.
    assert render.match(_rule("a", source="10.0.0.0/8", destination="::/0"), QG) is None


def test_table_counts_once_per_label_and_excludes_first() -> None:
    label = _label("L1", _rule("b", source="10.0.0.0/24"),
                   _rule("a", source="10.0.0.7/32", excluded=True),
                   _rule("c", source="10.0.0.0/8", destination="::/0"))
    table = render.render(_router(label, _label("L0")))
    assert table is not None
    assert table.labels == ("L0", "L1")
    assert table.text.startswith("table inet neutrino-meter {\n\tcomment \"neutrino "
                                 "sha256=")
    body = table.text.split("\n")
    assert "\tcounter l-L0 {" in body and "\tcounter l-L1 {" in body
    assert "\t\tjump r-L0" in body and "\t\tjump r-L1" in body
    chain = table.text.split("chain r-L1 {\n")[1].split("\t}")[0].splitlines()
    assert chain == [f'\t\tip saddr 10.0.0.7/32 iifname "{QG}" return',
                     f'\t\tip saddr 10.0.0.0/24 iifname "{QG}" counter name "l-L1" '
                     "return"]
    # Same state in another order: same text (and digest).
    again = render.render(_router(_label("L0"), _label(
        "L1", *reversed(label["rules"]))))
    assert again == table
    changed = render.render(_router(_label("L0")))
    assert changed is not None and changed.comment != table.comment


def test_no_table_without_gateway_or_labels() -> None:
    assert render.render(_router(_label("L1"), gateway=None)) is None
    assert render.render(_router()) is None


def test_batches() -> None:
    table = render.render(_router(_label("L1")))
    assert table is not None
    assert render.replace_batch(table) == (
        "table inet neutrino-meter\ndelete table inet neutrino-meter\n" + table.text)


def test_counters_from_nft_json() -> None:
    listing = json.dumps({"nftables": [
        {"metainfo": {"version": "1.0.6"}},
        {"counter": {"family": "inet", "name": "l-L1", "table": "neutrino-meter",
                     "handle": 3, "packets": 4, "bytes": 336}},
        {"counter": {"family": "inet", "name": "other", "table": "neutrino-meter",
                     "packets": 9, "bytes": 9}},
        {"counter": {"family": "inet", "name": "l-X", "table": "someone-else",
                     "packets": 9, "bytes": 9}}]})
    assert render.counters(listing) == {"L1": (4, 336)}
    assert render.counters(None) == {} and render.counters("not json") == {}
    assert render.add_counts({"L1": (1, 10)}, {"L1": (2, 20), "L2": (1, 1)}) == \
        {"L1": (3, 30), "L2": (1, 1)}


def test_meter_reports_like_upstreams_agent() -> None:
    meter = Meter(report_interval=300)
    assert meter.due(1000)  # the first report comes with the first measurement
    meter.add({"L1": (3, 300)}, ["L1", "L2"], now=1000)
    meter.add({"L1": (2, 200)}, ["L1", "L2"], now=1030)
    reports = meter.report(1030, "h", {"L1": "p1", "L2": "p2"})
    assert reports == [
        {"label_id": "L1", "tenant_id": "p1", "pkts": 5, "bytes": 500, "time": 30,
         "first_update": 1000, "last_update": 1030, "host": "h"},
        {"label_id": "L2", "tenant_id": "p2", "pkts": 0, "bytes": 0, "time": 30,
         "first_update": 1000, "last_update": 1030, "host": "h"}]
    assert not meter.due(1100) and meter.due(1330)
    # Totals start again; a label no longer measured is dropped after its report.
    meter.add({}, ["L1"], now=1400)
    second = meter.report(1400, "h", {"L1": "p1"})
    assert [(r["label_id"], r["pkts"], r["time"]) for r in second] == [
        ("L1", 0, 370), ("L2", 0, 0)]
    meter.add({}, ["L1"], now=1800)
    assert [r["label_id"] for r in meter.report(1800, "h", {})] == ["L1"]
