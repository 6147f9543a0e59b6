"""agent/firewall/sets.py: membership changes as element operations."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from neutrino.agent.firewall import sets
from neutrino.agent.firewall.render import IpSet


def v4(name: str, *members: str) -> IpSet:
    return IpSet(name, "inet", frozenset(members))


def v6(name: str, *members: str) -> IpSet:
    return IpSet(name, "inet6", frozenset(members))


def test_same_sets_plan_nothing() -> None:
    have = {"NIPv4a": v4("NIPv4a", "10.0.0.1", "10.0.0.2"), "NIPv6a": v6("NIPv6a")}
    changes = sets.plan(have, dict(have))
    assert not changes
    assert sets.restore_input(changes) == ""


def test_member_added_and_removed_are_element_operations() -> None:
    have = {"NIPv4a": v4("NIPv4a", "10.0.0.1", "10.0.0.2")}
    want = {"NIPv4a": v4("NIPv4a", "10.0.0.2", "10.0.0.3")}
    changes = sets.plan(have, want)
    assert changes == sets.SetPlan(add=[("NIPv4a", "10.0.0.3")],
                                   delete=[("NIPv4a", "10.0.0.1")])
    assert sets.restore_input(changes) == "add NIPv4a 10.0.0.3\ndel NIPv4a 10.0.0.1\n"


def test_new_set_is_filled_whole() -> None:
    want = {"NAGv4b": v4("NAGv4b", "192.0.2.0/24")}
    changes = sets.plan({}, want)
    assert changes == sets.SetPlan(fill=[want["NAGv4b"]])
    text = sets.restore_input(changes)
    assert text.startswith("create NAGv4b hash:net family inet\n")
    assert "add NAGv4b-n 192.0.2.0/24\nswap NAGv4b-n NAGv4b\n" in text


def test_set_of_another_family_is_filled_not_patched() -> None:
    changes = sets.plan({"NIPv6a": v4("NIPv6a", "10.0.0.1")},
                        {"NIPv6a": v6("NIPv6a", "2001:db8::1")})
    assert changes.fill == [v6("NIPv6a", "2001:db8::1")]
    assert not changes.add and not changes.delete


def test_emptied_set_loses_every_member_and_stays() -> None:
    changes = sets.plan({"NIPv4a": v4("NIPv4a", "10.0.0.2", "10.0.0.1")},
                        {"NIPv4a": v4("NIPv4a")})
    assert changes == sets.SetPlan(delete=[("NIPv4a", "10.0.0.1"),
                                           ("NIPv4a", "10.0.0.2")])


def test_sets_only_in_the_kernel_are_left_alone() -> None:
    assert not sets.plan({"NIPv4old": v4("NIPv4old", "10.0.0.1")}, {})


def test_adds_come_before_deletes_across_sets() -> None:
    have = {"NIPv4a": v4("NIPv4a", "10.0.0.1"), "NIPv4b": v4("NIPv4b", "10.0.0.5")}
    want = {"NIPv4a": v4("NIPv4a", "10.0.0.2"), "NIPv4b": v4("NIPv4b", "10.0.0.6")}
    lines = sets.restore_input(sets.plan(have, want)).splitlines()
    assert lines == ["add NIPv4a 10.0.0.2", "add NIPv4b 10.0.0.6",
                     "del NIPv4a 10.0.0.1", "del NIPv4b 10.0.0.5"]


MEMBERS = st.frozensets(st.sampled_from([f"10.0.0.{i}" for i in range(8)]
                                        + ["10.1.0.0/16", "0.0.0.0/1"]))
SETS = st.dictionaries(st.sampled_from(["NIPv4a", "NIPv4b", "NAGv4c"]),
                       st.tuples(st.sampled_from(["inet", "inet6"]), MEMBERS))


def as_sets(raw: dict[str, tuple[str, frozenset[str]]]) -> dict[str, IpSet]:
    return {name: IpSet(name, family, members) for name, (family, members) in raw.items()}


def apply(have: dict[str, IpSet], changes: sets.SetPlan) -> dict[str, IpSet]:
    """What the kernel holds after the plan (a model of ipset restore)."""
    out = {name: (s.family, set(s.members)) for name, s in have.items()}
    for whole in changes.fill:
        out[whole.name] = (whole.family, set(whole.members))
    for name, member in changes.add:
        out[name][1].add(member)
    for name, member in changes.delete:
        out[name][1].discard(member)
    return {name: IpSet(name, family, frozenset(m)) for name, (family, m) in out.items()}


@settings(max_examples=300, deadline=None)
@given(SETS, SETS)
def test_plan_turns_any_kernel_into_the_wanted_sets(have_raw, want_raw) -> None:
    have, want = as_sets(have_raw), as_sets(want_raw)
    changes = sets.plan(have, want)
    after = apply(have, changes)
    assert {n: after[n] for n in want} == want
    # Sets only in the kernel are untouched (the driver destroys them later).
    assert {n: after[n] for n in have if n not in want} == {
        n: have[n] for n in have if n not in want}
    # Minimal: every element operation changes something, nothing is filled
    # that could be patched, and no plan at all for equal sets.
    for name, member in changes.add:
        assert member not in have[name].members
    for name, member in changes.delete:
        assert member not in want[name].members
    for whole in changes.fill:
        assert whole.name not in have or have[whole.name].family != whole.family
    assert bool(changes) == any(have.get(n) != s for n, s in want.items())
