"""Engine, sessions and the one-transaction-per-request retry loop."""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from neutrino import exceptions as exc

LOG = logging.getLogger(__name__)
T = TypeVar("T")

# Driver error codes that mean "run the transaction again".
_MYSQL_RETRY_CODES = {1213, 1205}          # deadlock, lock wait timeout
_PG_RETRY_STATES = {"40001", "40P01"}      # serialization failure, deadlock


def is_retriable(error: BaseException) -> bool:
    """True for deadlocks, serialization failures, busy SQLite and unique races."""
    if isinstance(error, sa_exc.IntegrityError):
        return is_unique_violation(error)
    if isinstance(error, sa_exc.OperationalError | sa_exc.DBAPIError):
        orig = getattr(error, "orig", None)
        code = getattr(orig, "args", [None])[0] if orig is not None else None
        if code in _MYSQL_RETRY_CODES:
            return True
        if getattr(orig, "sqlstate", None) in _PG_RETRY_STATES:
            return True
        text = str(orig).lower()
        return "database is locked" in text or "deadlock" in text
    return False


def is_unique_violation(error: sa_exc.IntegrityError) -> bool:
    orig = error.orig
    if getattr(orig, "sqlstate", None) == "23505":
        return True
    code = getattr(orig, "args", [None])[0]
    if code == 1062:
        return True
    text = str(orig).lower()
    return "unique constraint" in text or "duplicate" in text


class Database:
    """Owns the engine; hands out write and read sessions.

    SQLite runs in WAL mode and takes its write lock at BEGIN (IMMEDIATE), so two
    writers queue instead of deadlocking on a lock upgrade.
    """

    def __init__(self, url: str, pool_size: int = 10, max_overflow: int = 20,
                 pool_timeout: int = 30, max_retries: int = 20) -> None:
        self.url = url
        self.max_retries = max_retries
        self.is_sqlite = url.startswith("sqlite")
        self.engine = self._create_engine(url, pool_size, max_overflow, pool_timeout)
        self._sessions = sessionmaker(bind=self.engine, expire_on_commit=False,
                                      autoflush=True)
        self._sqlite_writer = threading.RLock()

    def _create_engine(self, url: str, pool_size: int, max_overflow: int,
                       pool_timeout: int) -> Engine:
        if self.is_sqlite:
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            engine = create_engine(url, connect_args={"check_same_thread": False,
                                                      "timeout": 60})
            _sqlite_events(engine)
            return engine
        kwargs: dict = {"pool_size": pool_size, "max_overflow": max_overflow,
                        "pool_timeout": pool_timeout, "pool_pre_ping": True,
                        "pool_recycle": 3600}
        if url.startswith("mysql"):
            kwargs["isolation_level"] = "READ COMMITTED"
            kwargs["connect_args"] = {"charset": "utf8mb4"}
        return create_engine(url, **kwargs)

    def dispose(self) -> None:
        """Drop pooled connections (after a fork, the child must not share them)."""
        self.engine.dispose(close=False)

    @contextmanager
    def session(self, write: bool = True) -> Iterator[Session]:
        # SQLite has one writer at a time; threads of this process queue on a lock
        # (first come, first served) instead of polling in SQLite's busy handler,
        # which sleeps up to 100 ms a try and makes latency spiky.
        lock = self._sqlite_writer if write and self.is_sqlite else None
        if lock is not None:
            lock.acquire()
        session = self._sessions()
        try:
            if lock is not None:
                session.connection(execution_options={"sqlite_immediate": True})
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
            if lock is not None:
                lock.release()

    def run(self, fn: Callable[[Session], T], write: bool = True) -> T:
        """Run fn(session) in one transaction, retrying on retriable DB errors.

        fn must do no I/O other than the database: it may run several times.
        """
        attempt = 0
        while True:
            try:
                with self.session(write=write) as session:
                    return fn(session)
            except (sa_exc.IntegrityError, sa_exc.OperationalError,
                    sa_exc.DBAPIError) as error:
                if not is_retriable(error):
                    raise
                attempt += 1
                if attempt > self.max_retries:
                    LOG.warning("giving up after %d retries: %s", attempt - 1, error.orig)
                    raise exc.DBRetryExhausted() from error
                LOG.debug("retrying transaction (attempt %d): %s", attempt, error.orig)
                time.sleep(random.uniform(0, min(0.5, 0.005 * 2 ** attempt)))


def _sqlite_events(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # noqa: ANN001
        # Let SQLAlchemy, not pysqlite, emit BEGIN so we choose its kind.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # noqa: ANN001
        if conn.get_execution_options().get("sqlite_immediate"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")
