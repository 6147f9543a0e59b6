"""What a column can hold, from its SQL type, and the checks that keep every value the
API passes to the database inside it (issue 18: no 500 for a client's mistake).

Three places use it:

* `filter_values` (db/listing.py): a list filter's values against the filtered
  column: integers in the column's range, strings no longer than it, booleans and
  times of the right kind; anything else is a 400 before any SQL is built.
* `guard_statements`: a last line under every statement of every engine of the
  process. Each bound parameter is checked against its bind's SQL type: an integer
  beyond the column (PostgreSQL refuses it, SQLite overflows, MariaDB truncates), a
  NUL (PostgreSQL refuses it in text) and, written by INSERT or UPDATE, a string
  longer than the column (PostgreSQL and strict MariaDB refuse it, SQLite would keep
  it) all become a Neutron-style 400 naming the column. Whatever path a value took
  (body, path, header, an attribute with no bound of its own), the database never
  sees it.
* `INT_MAX` / `int_range`: the widest integer any column holds (every integer column is
  a 32-bit INTEGER), for checks made before the column is known (api/query.py).

The limits are the strictest backend's, applied on every backend, so a request
means the same on SQLite as on PostgreSQL and MariaDB.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, Integer, SmallInteger, String, event
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeEngine

from neutrino import exceptions as exc

INT16 = (-2**15, 2**15 - 1)
INT32 = (-2**31, 2**31 - 1)
INT64 = (-2**63, 2**63 - 1)
INT_MIN, INT_MAX = INT32

# Echoed values are cut to this many characters (error bodies stay small).
ECHO_MAX = 64


def int_range(type_: TypeEngine | None) -> tuple[int, int] | None:
    """The range of an integer SQL type; None for other types."""
    if isinstance(type_, BigInteger):
        return INT64
    if isinstance(type_, SmallInteger):
        return INT16
    if isinstance(type_, Integer):
        return INT32
    return None


def max_length(type_: TypeEngine | None) -> int | None:
    """The declared length of a string type (VARCHAR(n)); None when unbounded."""
    if isinstance(type_, String) and type_.length:
        return int(type_.length)
    return None


def echo(value: Any) -> str:
    """A value as error messages show it: at most ECHO_MAX characters."""
    text = str(value)
    if len(text) <= ECHO_MAX:
        return text
    return f"{text[:ECHO_MAX - 3]}..."


def invalid(name: str, reason: str) -> exc.HTTPBadRequest:
    """Upstream's validator message shape: "Invalid input for X. Reason: ...."""
    return exc.HTTPBadRequest(f"Invalid input for {name}. Reason: {reason}.")


def int_problem(value: int, bounds: tuple[int, int]) -> str | None:
    low, high = bounds
    if value > high:
        return f"'{echo(value)}' is too large - must be no more than '{high}'"
    if value < low:
        return f"'{echo(value)}' is too small - must be at least '{low}'"
    return None


def check_int(name: str, value: int, bounds: tuple[int, int] = INT32) -> int:
    problem = int_problem(value, bounds)
    if problem:
        raise invalid(name, problem)
    return value


# -- list filters ------------------------------------------------------------------------

def filter_values(name: str, column: Any, values: list[Any]) -> list[Any]:
    """`values` of the filter `name` on `column`, converted to the column's kind when
    they arrived as query-string text; a value the column cannot hold is a 400."""
    type_ = getattr(column, "type", None)
    return [_filter_value(name, type_, v) for v in values]


def _filter_value(name: str, type_: TypeEngine | None, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str) and "\x00" in value:
        raise invalid(name, "a NUL character is not allowed")
    bounds = int_range(type_)
    if bounds is not None and not isinstance(value, bool):
        if isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                raise invalid(name, f"'{echo(value)}' is not an integer") from None
        if isinstance(value, int):
            return check_int(name, value, bounds)
        return value
    if isinstance(type_, Boolean) and isinstance(value, str):
        low = value.strip().lower()
        if low in ("true", "1", "yes", "on"):
            return True
        if low in ("false", "0", "no", "off"):
            return False
        raise invalid(name, f"'{echo(value)}' cannot be converted to boolean")
    if isinstance(type_, DateTime) and isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise invalid(name, f"'{echo(value)}' is not a valid timestamp") from None
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
        return parsed
    length = max_length(type_)
    if length is not None and isinstance(value, str) and len(value) > length:
        raise invalid(name, f"'{echo(value)}' exceeds maximum length of {length}")
    return value


# -- every statement ---------------------------------------------------------------------

# Bind names SQLAlchemy derives from a column: mtu_1, or mtu_1_2 in an expanded IN list.
_SUFFIX = re.compile(r"(_\d+)+$")
_installed = False


def guard_statements() -> None:
    """Check the bound parameters of every statement any engine of this process runs
    (idempotent; the composition root calls it once)."""
    global _installed
    if not _installed:
        event.listen(Engine, "before_cursor_execute", _check_statement)
        _installed = True


def _check_statement(conn: Any, cursor: Any, statement: str, parameters: Any,
                     context: Any, executemany: bool) -> None:
    compiled = getattr(context, "compiled", None)
    binds = getattr(compiled, "binds", None)
    if not binds:
        return
    writes = bool(context.isinsert or context.isupdate)
    for params in context.compiled_parameters:
        for key, value in params.items():
            if value is None or isinstance(value, (bool, float, bytes, dt.datetime)):
                continue
            bind = binds.get(key)
            if bind is None:  # an IN list's expanded element: name_1_2 of name_1
                bind = binds.get(key.rpartition("_")[0])
            type_ = getattr(bind, "type", None)
            if isinstance(value, int):
                bounds = int_range(type_)
                if bounds is not None:
                    check_int(_column_name(bind, key), value, bounds)
            elif isinstance(value, str):
                _check_text(bind, key, type_, value, writes)


def _check_text(bind: Any, key: str, type_: TypeEngine | None, value: str,
                writes: bool) -> None:
    if "\x00" in value:
        raise invalid(_column_name(bind, key), "a NUL character is not allowed")
    if writes:
        length = max_length(type_)
        if length is not None and len(value) > length:
            raise invalid(_column_name(bind, key),
                          f"'{echo(value)}' exceeds maximum length of {length}")


def _column_name(bind: Any, key: str) -> str:
    """The column a bind parameter stands for: ``mtu`` of ``mtu_1``."""
    return _SUFFIX.sub("", key)
