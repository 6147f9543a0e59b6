"""policy_eval.evaluate decides as oslo.policy's own evaluation does, on random rule
trees (and / or / not, rule references including unknown ones, roles, generic and
field checks, @ and !) against random credentials and targets."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from oslo_policy import _checks, _parser
from oslo_policy.policy import Rules

from neutrino.policy import FieldCheck  # noqa: F401 - registers the "field" check
from neutrino.policy_eval import evaluate

CHECKS = ["@", "!", "role:admin", "role:member", "role:reader",
          "project_id:%(project_id)s", "project_id:%(tenant_id)s", "'True':%(shared)s",
          "field:networks:shared=True", "field:ports:device_owner=~^network:",
          "rule:missing", "is_admin:True"]


def rule_text(*refs: str) -> st.SearchStrategy[str]:
    """A rule that may reference the rules `refs` (so the references never loop)."""
    leaves = st.sampled_from(CHECKS + [f"rule:{r}" for r in refs])
    return st.recursive(leaves, lambda inner: st.one_of(
        st.builds(lambda x: f"not {x}", inner),
        st.builds(lambda x, y: f"({x} and {y})", inner, inner),
        st.builds(lambda x, y: f"({x} or {y})", inner, inner)), max_leaves=8)


class Enforcer:
    """What the checks use of an enforcer: the rule set (with oslo's default rule
    falling back as an Enforcer's does)."""

    def __init__(self, rules: dict[str, str]) -> None:
        parsed = {n: _parser.parse_rule(t) for n, t in rules.items()}
        parsed["default"] = _parser.parse_rule("role:admin")  # what rule:missing finds
        self.rules = Rules(parsed, default_rule="default")


CREDS = st.fixed_dictionaries({
    "roles": st.lists(st.sampled_from(["admin", "member", "reader"]), unique=True),
    "project_id": st.sampled_from(["p1", "p2"]),
    "is_admin": st.booleans()})
TARGETS = st.dictionaries(
    st.sampled_from(["project_id", "tenant_id", "shared", "device_owner"]),
    st.sampled_from(["p1", "p2", True, False, "network:dhcp", "compute:nova"]))


@settings(max_examples=400, deadline=None)
@given(rules=st.fixed_dictionaries({"a": rule_text("b", "c"), "b": rule_text("c"),
                                    "c": rule_text()}),
       top=rule_text("a", "b", "c"), creds=CREDS, target=TARGETS)
def test_same_decision_as_oslo(rules: dict, top: str, creds: dict, target: dict) -> None:
    enforcer = Enforcer(rules)
    check = _parser.parse_rule(top)
    expected = bool(_checks._check(check, target, creds, enforcer, "top"))
    assert evaluate(check, target, creds, enforcer, "top") is expected
