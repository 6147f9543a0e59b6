"""One change a pure plan asks of its reconciler: the operation's name (a method of
the executor: a Kernel, an Ovsdb, the L3 reconciler's), what it acts on, and its
arguments, hashable and printable so plans compare and log as data. Shared by the
Linux bridge, Open vSwitch and L3 plans."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Action:
    op: str
    name: str
    args: tuple[tuple[str, object], ...] = ()

    def kwargs(self) -> dict[str, object]:
        return dict(self.args)

    def __str__(self) -> str:
        extra = " ".join(f"{k}={v}" for k, v in self.args)
        return f"{self.op} {self.name} {extra}".strip()


def act(op: str, name: str, **kwargs: object) -> Action:
    """An Action with its arguments in a stable order."""
    return Action(op, name, tuple(sorted(kwargs.items())))
