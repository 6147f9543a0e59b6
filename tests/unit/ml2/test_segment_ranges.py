"""Where a project network's segmentation id is looked for: its own ranges first,
then the shared ranges without other projects' ranges (pure)."""

from __future__ import annotations

from neutrino.ml2.types import SegmentRange, tenant_scopes


def test_without_project_ranges_only_shared() -> None:
    ranges = [SegmentRange(None, 1, 1000)]
    assert tenant_scopes(ranges, "p1") == [(None, [(1, 1000)], [])]
    assert tenant_scopes(ranges, None) == [(None, [(1, 1000)], [])]


def test_own_ranges_first_others_excluded() -> None:
    ranges = [SegmentRange(None, 1, 1000), SegmentRange(None, 100, 199, "p1"),
              SegmentRange(None, 200, 299, "p2"), SegmentRange(None, 5000, 5009)]
    assert tenant_scopes(ranges, "p1") == [
        (None, [(100, 199)], []),
        (None, [(1, 1000), (5000, 5009)], [(200, 299)])]
    assert tenant_scopes(ranges, "p3") == [
        (None, [(1, 1000), (5000, 5009)], [(100, 199), (200, 299)])]


def test_vlan_ranges_per_physical_network() -> None:
    ranges = [SegmentRange("b", 1, 10), SegmentRange("a", 1, 10),
              SegmentRange("b", 20, 29, "p1"), SegmentRange("a", 5, 6, "p2")]
    assert tenant_scopes(ranges, "p1") == [
        ("b", [(20, 29)], []),
        ("a", [(1, 10)], [(5, 6)]),
        ("b", [(1, 10)], [])]
