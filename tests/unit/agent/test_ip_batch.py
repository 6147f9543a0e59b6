"""The `ip -force -batch` rendering and the reading of its per-line failures
(agent/common/ip_batch.py), and how the Linux bridge reconciler cuts a plan into
batches (reconciler.batch_runs)."""

from __future__ import annotations

import pytest

from neutrino.agent.common import ip_batch
from neutrino.agent.common.actions import act
from neutrino.agent.linuxbridge.reconciler import batch_runs


def test_line_carries_master_mtu_and_state() -> None:
    assert (ip_batch.link_set_line("tap1", {"master": "brq1", "mtu": 1450})
            == "link set dev tap1 master brq1 mtu 1450")
    assert ip_batch.link_set_line("tap1", {"up": True}) == "link set dev tap1 up"
    assert ip_batch.link_set_line("tap1", {"up": False}) == "link set dev tap1 down"
    assert (ip_batch.link_set_line("tap1", {"nomaster": True})
            == "link set dev tap1 nomaster")


@pytest.mark.parametrize("name", ["", "tap 1", "tap#1", "a/b", "x" * 16, 'ta"p', "t\\"])
def test_names_a_batch_cannot_carry_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        ip_batch.link_set_line(name, {"up": True})
    with pytest.raises(ValueError):
        ip_batch.link_set_line("tap1", {"master": name})


@pytest.mark.parametrize("changes", [{}, {"mac": "fa:16:3e:00:00:01"}, {"mtu": 0},
                                     {"mtu": "1500"}, {"mtu": True}])
def test_changes_a_line_cannot_carry_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ip_batch.link_set_line("tap1", changes)


def test_batchable() -> None:
    assert ip_batch.batchable({"master": "brq1", "mtu": 1500})
    assert not ip_batch.batchable({})
    assert not ip_batch.batchable({"up": True, "new_name": "x"})


def test_render_ends_every_line() -> None:
    assert ip_batch.render(["a", "b"]) == "a\nb\n"


def test_all_done() -> None:
    outcome = ip_batch.parse_outcome("", 3, 0)
    assert outcome.failed == {} and outcome.unknown == []


def test_failing_lines_are_told_apart_with_their_messages() -> None:
    stderr = ('Cannot find device "tap2"\nCommand failed -:2\n'
              "RTNETLINK answers: Invalid argument\nCommand failed -:4\n")
    outcome = ip_batch.parse_outcome(stderr, 5, 1)
    assert outcome.failed == {1: 'Cannot find device "tap2"',
                              3: "RTNETLINK answers: Invalid argument"}
    assert outcome.unknown == []


def test_ip_stopping_early_leaves_the_rest_unknown() -> None:
    # iproute2 exits on some argument errors (a master that does not exist)
    # despite -force: no marker for that line, nothing after it ran.
    stderr = ('Cannot find device "tap2"\nCommand failed -:2\n'
              'Error: argument "brqX" is wrong: Device does not exist\n')
    outcome = ip_batch.parse_outcome(stderr, 5, 255)
    assert outcome.failed == {1: 'Cannot find device "tap2"'}
    assert outcome.unknown == [2, 3, 4]


def test_ip_failing_without_a_word_leaves_everything_unknown() -> None:
    outcome = ip_batch.parse_outcome("", 3, -9)
    assert outcome.failed == {} and outcome.unknown == [0, 1, 2]


def test_markers_outside_the_batch_are_ignored() -> None:
    outcome = ip_batch.parse_outcome("x\nCommand failed -:9\n", 2, 1)
    assert outcome.failed == {} and outcome.unknown == [0, 1]


def test_batch_runs_group_consecutive_link_changes_only() -> None:
    actions = [act("add_bridge", "brq1"), act("set_link", "brq1", up=True),
               act("set_link", "tap1", master="brq1", mtu=1450),
               act("set_link", "tap1", up=True), act("add_vxlan", "vxlan-1", vni=1),
               act("set_link", "vxlan-1", master="brq1"),
               act("set_link", "tap2", mac="fa:16:3e:00:00:02"),
               act("set_link", "tap2", up=True), act("set_link", "tap3", up=True)]
    runs = batch_runs(actions)
    assert [[a.name for a in run] for run in runs] == [
        ["brq1"], ["brq1", "tap1", "tap1"], ["vxlan-1"], ["vxlan-1"], ["tap2"],
        ["tap2", "tap3"]]
    assert [a for run in runs for a in run] == actions


class BatchKernel:
    """A stand-in for Kernel's set_links answers (the real one runs in
    tests/dataplane/test_ip_batch.py): one change fails, the rest are done."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def set_links(self, changes: list[tuple[str, dict[str, object]]]) -> list[str | None]:
        self.batches.append([name for name, _ in changes])
        return ['Cannot find device "tap2"' if name == "tap2" else None
                for name, _ in changes]


def test_reconciler_reports_each_batched_action_on_its_own() -> None:
    from neutrino.agent.linuxbridge.plan import Settings
    from neutrino.agent.linuxbridge.reconciler import Reconciler, Result

    kernel = BatchKernel()
    result = Result()
    actions = [act("set_link", "tap1", master="brq1"), act("set_link", "tap2", up=True),
               act("set_link", "tap3", up=True)]
    Reconciler(kernel, Settings())._apply(actions, result)  # type: ignore[arg-type]
    assert kernel.batches == [["tap1", "tap2", "tap3"]]
    assert result.actions == [actions[0], actions[2]]
    assert result.failed == [(actions[1], 'Cannot find device "tap2"')]
