"""A list request as a value (`ListQuery`) and turning it into SQL: filters, tag
filters, sorting and marker paging; `rows_for_ids` for related rows.

Every service's list goes through `fetch_page`, so filtering, sorting and pagination
behave the same on every collection. The HTTP layer (api/query.py) parses the query
string into a `ListQuery`; services, ml2 and rpc use what is here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, String, and_, any_, exists, false, func, literal, or_, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from neutrino.db import bounds, models

# A hook that turns sub-filters (e.g. fixed_ips=ip_address=...) into a clause.
SubFilter = Callable[[str, list[tuple[str, str]]], Any]
# Builds a SQL clause from the values of a list filter (`?security_groups=X&...`).
FilterBuilder = Callable[[list[str]], Any]


@dataclass
class ListQuery:
    filters: dict[str, list[Any]] = field(default_factory=dict)
    fields: list[str] = field(default_factory=list)
    sorts: list[tuple[str, str]] = field(default_factory=list)
    limit: int | None = None
    marker: str | None = None
    page_reverse: bool = False
    tag_filters: dict[str, list[str]] = field(default_factory=dict)
    # Sub-filters on a structured attribute, e.g. fixed_ips=ip_address=10.0.0.2.
    sub_filters: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # ``changed_since``: only resources with updated_at >= this (naive UTC).
    changed_since: dt.datetime | None = None


def tag_clauses(model: type, tag_filters: dict[str, list[str]]) -> list[Any]:
    clauses = []

    def has(tag: str) -> Any:
        return exists().where(models.Tag.resource_id == model.id, models.Tag.tag == tag)

    for kind, tags in tag_filters.items():
        if not tags:
            continue
        if kind == "tags":
            clauses.append(and_(*[has(t) for t in tags]))
        elif kind == "tags-any":
            clauses.append(or_(*[has(t) for t in tags]))
        elif kind == "not-tags":
            clauses.append(~and_(*[has(t) for t in tags]))
        elif kind == "not-tags-any":
            clauses.append(~or_(*[has(t) for t in tags]))
    return clauses


def filter_clauses(model: type, query: ListQuery, columns: dict[str, Any],
                   sub_filter: SubFilter | None = None) -> list[Any]:
    clauses = []
    for name, values in query.filters.items():
        column = columns.get(name)
        if column is None:
            if sub_filter is not None:
                clauses.append(sub_filter(name, [("", str(v)) for v in values]))
            continue
        values = bounds.filter_values(name, column, values)
        clauses.append(column.in_(values) if values else false())
    for name, pairs in query.sub_filters.items():
        if sub_filter is not None:
            clauses.append(sub_filter(name, pairs))
    clauses.extend(tag_clauses(model, query.tag_filters))
    if query.changed_since is not None:
        updated_at = columns.get("updated_at", getattr(model, "updated_at", None))
        if updated_at is not None:
            clauses.append(updated_at >= query.changed_since)
    return clauses


def _ordered_sorts(query: ListQuery) -> list[tuple[str, str]]:
    sorts = list(query.sorts)
    if not any(key == "id" for key, _ in sorts):
        sorts.append(("id", sorts[-1][1] if sorts else "asc"))
    if query.page_reverse:
        sorts = [(k, "desc" if d == "asc" else "asc") for k, d in sorts]
    return sorts


def _nullable(column: Any) -> bool:
    return bool(getattr(getattr(column, "expression", column), "nullable", False))


def _after(column: Any, direction: str, value: Any) -> Any:
    """Rows strictly after ``value`` in this column's order. NULL sorts first
    ascending and last descending on every backend (see `order_by_clauses`)."""
    if value is None:
        return column.is_not(None) if direction == "asc" else false()
    if isinstance(value, bool):
        if direction == "asc":
            after = column == True if value is False else false()  # noqa: E712
        else:
            after = column == False if value is True else false()  # noqa: E712
    else:
        after = column > value if direction == "asc" else column < value
    if direction == "desc" and _nullable(column):
        after = or_(after, column.is_(None))
    return after


def _equal(column: Any, value: Any) -> Any:
    return column.is_(None) if value is None else column == value


def marker_clause(columns: dict[str, Any], sorts: list[tuple[str, str]],
                  marker_values: Sequence[Any]) -> Any:
    """Rows strictly after the marker in the given order (keyset pagination);
    ``marker_values`` are the marker's values of the sort keys, in order."""
    alternatives = []
    for i, (key, direction) in enumerate(sorts):
        equal = [_equal(columns[k], marker_values[j]) for j, (k, _) in enumerate(sorts[:i])]
        alternatives.append(and_(*equal, _after(columns[key], direction,
                                                marker_values[i])))
    return or_(*alternatives)


def order_by_clauses(columns: dict[str, Any], sorts: list[tuple[str, str]]) -> list[Any]:
    """ORDER BY with NULLs first ascending / last descending on every backend
    (PostgreSQL's default differs from MySQL's and SQLite's)."""
    clauses = []
    for key, direction in sorts:
        column = columns[key]
        if _nullable(column):
            not_null = column.is_not(None)
            clauses.append(not_null.asc() if direction == "asc" else not_null.desc())
        clauses.append(column.asc() if direction == "asc" else column.desc())
    return clauses


def apply_order_and_page(stmt: Select, query: ListQuery, columns: dict[str, Any],
                         session: Session, model: type, not_found: Callable[[str], Exception]
                         ) -> tuple[Select, bool]:
    """Order, marker and limit. Returns the statement and whether to reverse rows."""
    # Without sort keys, id order (as upstream on MySQL), the same on every backend.
    sorts = _ordered_sorts(query)
    if query.marker is not None:
        marker = session.execute(
            select(*[columns[k] for k, _ in sorts]).where(model.id == query.marker)
        ).first()
        if marker is None:
            raise not_found(query.marker)
        stmt = stmt.where(marker_clause(columns, sorts, tuple(marker)))
    stmt = stmt.order_by(*order_by_clauses(columns, sorts))
    if query.limit is not None:
        stmt = stmt.limit(query.limit)
    return stmt, query.page_reverse


def fetch_page(session: Session, stmt: Select, query: ListQuery, columns: dict[str, Any],
               model: type, not_found: Callable[[str], Exception], scalars: bool = True
               ) -> list[Any]:
    """The rows of one list request, in the order the caller asked for: ORM objects
    (`scalars`) or plain rows for multi-column selects."""
    stmt, reverse = apply_order_and_page(stmt, query, columns, session, model, not_found)
    rows = list(session.scalars(stmt)) if scalars else session.execute(stmt).all()
    if reverse:
        rows.reverse()
    return rows


def count(session: Session, model: type, *where: Any) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def in_chunks(values: list[Any], size: int = 500) -> list[list[Any]]:
    return [values[i:i + size] for i in range(0, len(values), size)]


# Below SQLite's host-parameter limit (32766) with room for other parameters.
IDS_PER_QUERY = 10000


def rows_for_ids(session: Session, stmt: Select, column: Any, ids: list[str]) -> list[Any]:
    """Rows of ``stmt`` whose ``column`` is one of ``ids``: one array parameter on
    PostgreSQL (a statement psycopg can prepare once), large IN lists elsewhere."""
    if not ids:
        return []
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        array = literal(list(ids), postgresql.ARRAY(String))
        return connection.execute(stmt.where(column == any_(array))).all()
    rows: list[Any] = []
    for chunk in in_chunks(list(ids), IDS_PER_QUERY):
        rows.extend(connection.execute(stmt.where(column.in_(chunk))).all())
    return rows
