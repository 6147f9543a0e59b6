"""Evaluating an oslo.policy rule tree, as ``oslo_policy._checks._check`` does,
without its cost.

oslo.policy decides on every check of every rule, through ``inspect``, whether the
check's ``__call__`` takes the rule's name; that signature inspection was a third of
the server's CPU for a port creation (six decisions, each a tree of checks). Here the
compound checks (and / or / not / rule references) are walked directly, and each leaf
check is called as oslo calls it, with the answer to "does it take the rule's name"
found once per check class.
"""

from __future__ import annotations

import inspect
from typing import Any

from oslo_policy import _checks

# check class -> whether its __call__ takes current_rule (oslo's "more than 4 args")
_TAKES_RULE: dict[type, bool] = {}


def evaluate(check: Any, target: dict, creds: dict, enforcer: Any,
             current_rule: str | None) -> bool:
    """Whether `check` passes, with oslo.policy's semantics (short-circuit and/or,
    a reference to an unknown rule is false, the rule set's default applies)."""
    kind = type(check)
    if kind is _checks.OrCheck:
        return any(evaluate(sub, target, creds, enforcer, current_rule)
                   for sub in check.rules)
    if kind is _checks.AndCheck:
        return all(evaluate(sub, target, creds, enforcer, current_rule)
                   for sub in check.rules)
    if kind is _checks.NotCheck:
        return not evaluate(check.rule, target, creds, enforcer, current_rule)
    if kind is _checks.RuleCheck:
        try:
            sub = enforcer.rules[check.match]  # Rules falls back to its default rule
        except KeyError:
            return False
        return evaluate(sub, target, creds, enforcer, current_rule)
    takes_rule = _TAKES_RULE.get(kind)
    if takes_rule is None:
        takes_rule = _TAKES_RULE[kind] = len(inspect.getfullargspec(check.__call__).args) > 4
    if takes_rule:
        return bool(check(target, creds, enforcer, current_rule))
    return bool(check(target, creds, enforcer))
