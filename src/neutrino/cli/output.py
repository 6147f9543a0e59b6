"""How the `neutrino` CLI prints: rich tables, trees and progress bars for people;
``--format json`` (one JSON document on stdout) for scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text


class Output:
    def __init__(self, fmt: str = "table", stream: Any = None) -> None:
        self.format = fmt
        self.stream = stream or sys.stdout
        self.console = Console(file=self.stream, soft_wrap=False,
                               width=None if self.stream.isatty() else 160)
        # Progress and notes go to stderr: stdout stays one parseable document.
        self.err = Console(file=sys.stderr, stderr=True)

    @property
    def json(self) -> bool:
        return self.format == "json"

    def document(self, value: Any) -> None:
        self.stream.write(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")

    def table(self, title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
              ) -> None:
        table = Table(title=title, title_justify="left", show_lines=False)
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            # Text, not markup: names and values may hold brackets.
            table.add_row(*(cell if isinstance(cell, Text) else Text(_text(cell))
                            for cell in row))
        self.console.print(table)

    def print(self, *things: Any) -> None:
        self.console.print(*things)

    def note(self, message: str) -> None:
        self.err.print(message)

    @contextmanager
    def progress(self, description: str, total: int | None) -> Iterator[Any]:
        """A progress bar on stderr (hidden when stderr is no terminal)."""
        progress = Progress(TextColumn("{task.description}"), BarColumn(),
                            MofNCompleteColumn(), console=self.err, transient=True,
                            disable=not self.err.is_terminal)
        with progress:
            task = progress.add_task(description, total=total)
            yield lambda n=1: progress.advance(task, n)


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_text(v)}" for k, v in value.items()) or "-"
    return str(value)
