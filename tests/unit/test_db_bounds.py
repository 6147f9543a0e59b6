"""db/bounds.py: what a column holds, the filter checks, and the statement guard on a
real (in-memory SQLite) engine; api/limits.py and api/errors.py's pure parts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Integer,
    SmallInteger,
    String,
    Text,
    create_engine,
    insert,
    select,
    update,
)
from sqlalchemy.orm import DeclarativeBase, Session

from neutrino import exceptions as exc
from neutrino.api import errors, limits
from neutrino.db import bounds


class Base(DeclarativeBase):
    pass


class Thing(Base):
    __tablename__ = "things"
    id = Column(String(36), primary_key=True)
    count = Column(Integer)
    small = Column(SmallInteger)
    big = Column(BigInteger)
    flag = Column(Boolean)
    note = Column(Text)


@pytest.fixture
def session() -> Iterator[Session]:
    bounds.guard_statements()
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        yield s
    engine.dispose()


def test_ranges_of_the_types() -> None:
    assert bounds.int_range(Integer()) == (-2**31, 2**31 - 1)
    assert bounds.int_range(SmallInteger()) == (-2**15, 2**15 - 1)
    assert bounds.int_range(BigInteger()) == (-2**63, 2**63 - 1)
    assert bounds.int_range(String(5)) is None
    assert bounds.max_length(String(36)) == 36
    assert bounds.max_length(String()) is None
    assert bounds.max_length(Text()) is None


def test_echo_cuts_long_values() -> None:
    assert bounds.echo("short") == "short"
    cut = bounds.echo("x" * 1000)
    assert len(cut) == bounds.ECHO_MAX and cut.endswith("...")


@pytest.mark.parametrize("value, problem", [
    (2**31, "too large - must be no more than '2147483647'"),
    (-2**31 - 1, "too small - must be at least '-2147483648'"),
])
def test_check_int(value: int, problem: str) -> None:
    with pytest.raises(exc.HTTPBadRequest) as raised:
        bounds.check_int("mtu", value)
    assert raised.value.msg == f"Invalid input for mtu. Reason: '{value}' is {problem}."
    assert bounds.check_int("mtu", 2**31 - 1) == 2**31 - 1


def test_filter_values_convert_text_to_the_columns_kind() -> None:
    assert bounds.filter_values("count", Thing.count, ["7", 8]) == [7, 8]
    assert bounds.filter_values("flag", Thing.flag, ["True", "0"]) == [True, False]
    assert bounds.filter_values("at", Column("at", DateTime),
                                ["2026-12-07T10:00:00+01:00"]) == [dt.datetime(2026, 12, 7, 9)]
    assert bounds.filter_values("id", Thing.id, ["a" * 36, None]) == ["a" * 36, None]


@pytest.mark.parametrize("column, value", [
    (Thing.count, "3000000000"), (Thing.count, 2**63), (Thing.count, "twelve"),
    (Thing.small, 40000), (Thing.flag, "maybe"), (Thing.id, "a" * 37),
    (Thing.note, "a\x00b"), (Column("at", DateTime), "yesterday"),
])
def test_filter_values_a_column_cannot_hold(column: Column, value: object) -> None:
    with pytest.raises(exc.HTTPBadRequest):
        bounds.filter_values("attr", column, [value])


def test_big_integer_columns_hold_64_bits() -> None:
    assert bounds.filter_values("big", Thing.big, [2**62]) == [2**62]
    with pytest.raises(exc.HTTPBadRequest):
        bounds.filter_values("big", Thing.big, [2**63])


def test_guard_lets_what_fits_through(session: Session) -> None:
    session.add(Thing(id="a" * 36, count=2**31 - 1, small=-2**15, flag=True,
                      note="x" * 10000))
    session.flush()
    assert session.scalars(select(Thing.id).where(Thing.count.in_([2**31 - 1, 5]))).all() \
        == ["a" * 36]
    # A longer string only compared (not written) matches nothing; no error.
    assert session.scalars(select(Thing.id).where(Thing.id == "a" * 300)).all() == []


@pytest.mark.parametrize("row, column", [
    ({"id": "x", "count": 2**31}, "count"),
    ({"id": "x", "small": 2**15}, "small"),
    ({"id": "x" * 37}, "id"),
    ({"id": "x", "note": "\x00"}, "note"),
])
def test_guard_refuses_writes_beyond_the_column(session: Session, row: dict,
                                                column: str) -> None:
    with pytest.raises(exc.HTTPBadRequest) as raised:
        session.add(Thing(**row))
        session.flush()
    assert raised.value.msg.startswith(f"Invalid input for {column}. Reason: ")
    session.rollback()
    with pytest.raises(exc.HTTPBadRequest):
        session.execute(insert(Thing), [{"id": "ok"}, row])
    session.rollback()


def test_guard_refuses_updates_and_comparisons_beyond_the_column(session: Session) -> None:
    session.add(Thing(id="a", count=1))
    session.flush()
    with pytest.raises(exc.HTTPBadRequest, match="count"):
        session.execute(update(Thing).where(Thing.id == "a").values(count=2**40))
    with pytest.raises(exc.HTTPBadRequest, match="count"):
        session.execute(select(Thing).where(Thing.count.in_([1, 2**63])))
    with pytest.raises(exc.HTTPBadRequest, match="NUL"):
        session.execute(select(Thing).where(Thing.id == "\x00"))


# -- api/limits.py, api/errors.py --------------------------------------------------------

@pytest.mark.parametrize("content_type, ok", [
    ("application/json", True), ("application/json; charset=utf-8", True),
    ("Application/JSON", True), ("application/merge-patch+json", True),
    ("text/plain", False), ("application/xml", False), ("multipart/form-data", False),
])
def test_json_content_types(content_type: str, ok: bool) -> None:
    assert limits.is_json(content_type) is ok


@pytest.mark.parametrize("value, ok", [("p" * 255, True), ("p" * 256, False),
                                       ("a\tb", False), ("proj-1", True)])
def test_identity_header_values(value: str, ok: bool) -> None:
    assert (limits.identity_problem(value) is None) is ok


def test_error_messages_are_bounded() -> None:
    short = "Invalid input for name. Reason: 'x' exceeds maximum length of 255."
    assert errors.bounded(short) == short
    long = f"Invalid input for name. Reason: '{'x' * 200000}' exceeds maximum length of 255."
    cut = errors.bounded(long)
    assert len(cut) <= errors.MESSAGE_MAX + 40
    assert cut.startswith("Invalid input for name. Reason: 'xxx")
    assert cut.endswith("exceeds maximum length of 255.")
