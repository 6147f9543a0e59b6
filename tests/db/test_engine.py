"""The transaction runner: retries on races, never on client errors."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from backends import database
from neutrino import exceptions as exc
from neutrino.db import migrate, models
from neutrino.db.engine import Database, is_retriable


@pytest.fixture
def db(backend: str, tmp_path: Path):
    with database(backend, tmp_path) as url:
        database_ = Database(url, max_retries=5)
        migrate.upgrade(database_)
        yield database_
        database_.engine.dispose()


def _add_tag(session, tag: str) -> None:
    session.add(models.Tag(resource_id="r1", tag=tag, resource_type="networks"))
    session.flush()


def test_unique_violation_is_retried_and_then_sees_the_winner(db: Database) -> None:
    db.run(lambda s: _add_tag(s, "taken"))
    attempts = []

    def body(session) -> str:
        attempts.append(1)
        existing = set(session.scalars(select(models.Tag.tag)))
        # First attempt races (inserts the taken tag); the retry picks a free one.
        _add_tag(session, "taken" if len(attempts) == 1 else f"free{len(existing)}")
        return "done"

    assert db.run(body) == "done"
    assert len(attempts) == 2
    tags = db.run(lambda s: set(s.scalars(select(models.Tag.tag))), write=False)
    assert tags == {"taken", "free1"}


def test_real_unique_violation_is_classified_retriable(db: Database) -> None:
    db.run(lambda s: _add_tag(s, "x"))
    from sqlalchemy import exc as sa_exc
    with pytest.raises(sa_exc.IntegrityError) as info, db.session() as session:
        _add_tag(session, "x")
    assert is_retriable(info.value)


def test_a_repeated_unique_violation_is_a_conflict_not_a_retry_loop(db: Database) -> None:
    """The same violation twice in a row is the request's own duplicate, no race:
    409 after one retry (it used to cost max_retries transactions, then 503)."""
    db.run(lambda s: _add_tag(s, "always"))
    calls = []

    def body(session) -> None:
        calls.append(1)
        _add_tag(session, "always")

    with pytest.raises(exc.DBDuplicateEntry):
        db.run(body)
    assert len(calls) == 2


def test_retries_of_changing_violations_are_bounded(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite names no key values: violations of one key look alike "
                    "(and, its writers serialized, are never races)")
    for n in range(db.max_retries + 2):
        db.run(lambda s, n=n: _add_tag(s, f"t{n}"))
    calls = []

    def body(session) -> None:  # a new taken tag each time: looks like a race
        calls.append(1)
        _add_tag(session, f"t{len(calls) - 1}")

    with pytest.raises(exc.DBRetryExhausted):
        db.run(body)
    assert len(calls) == db.max_retries + 1


def test_client_errors_are_not_retried_and_roll_back(db: Database) -> None:
    calls = []

    def body(session) -> None:
        calls.append(1)
        _add_tag(session, "half-written")
        raise exc.NetworkNotFound(net_id="n")

    with pytest.raises(exc.NetworkNotFound):
        db.run(body)
    assert calls == [1]
    assert db.run(lambda s: list(s.scalars(select(models.Tag))), write=False) == []


def test_concurrent_writers_all_commit(db: Database) -> None:
    """Writers from many threads each commit once (SQLite: BEGIN IMMEDIATE queues
    them instead of failing on a lock upgrade)."""
    errors: list[BaseException] = []

    def writer(i: int) -> None:
        try:
            def body(session) -> None:
                count = len(list(session.scalars(select(models.Tag))))
                _add_tag(session, f"t{i}-{count}")
            db.run(body)
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert db.run(lambda s: len(list(s.scalars(select(models.Tag)))), write=False) == 20


def test_a_reference_gone_meanwhile_is_retried_then_answered_by_the_service(
        db: Database) -> None:
    """A foreign-key violation is a race when a concurrent delete caused it: the
    retry runs the service's own checks again (here: the parent is gone → 404)."""
    calls = []

    def body(session) -> None:
        calls.append(1)
        if session.get(models.Network, "gone") is None and len(calls) > 1:
            raise exc.NetworkNotFound(net_id="gone")
        session.add(models.Subnet(id=f"s{len(calls)}", network_id="gone",
                                  ip_version=4, cidr="10.0.0.0/24"))
        session.flush()

    with pytest.raises(exc.NetworkNotFound):
        db.run(body)
    assert len(calls) == 2


def test_a_repeated_foreign_key_violation_is_404_not_500(db: Database) -> None:
    def body(session) -> None:
        session.add(models.Subnet(id="s1", network_id="gone", ip_version=4,
                                  cidr="10.0.0.0/24"))
        session.flush()

    with pytest.raises(exc.NotFound if not db.is_sqlite else exc.Conflict):
        db.run(body)
