"""Engine, sessions and the one-transaction-per-request retry loop.

What a database error means for a request (see `Database.run`):

* a real race (deadlock, serialization failure, lock wait timeout, busy SQLite):
  the transaction runs again, up to `max_retries` times;
* a unique or foreign-key violation: run again once more, because a concurrent
  commit may be its cause (two allocations of one address; a port created on a
  subnet being deleted) and the next run sees that commit and answers as a
  service does (another address; 404 SubnetNotFound). The same violation twice in
  a row is no race but the request itself: 409 (or 404 for a reference to a row
  that does not exist), never a loop of retries;
* the database unreachable, or a transaction over its time bound: 503 with
  Retry-After, and one log line when the outage starts and one when it ends.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

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
# The database is out of reach (or cut our connection): 503, not 500.
_MYSQL_GONE_CODES = {2002, 2003, 2005, 2006, 2013, 2014, 2045, 2055, 1040, 1053, 1927}
_PG_GONE_CLASSES = ("08", "57P")           # connection exception; admin/crash shutdown
_MYSQL_CHILD_FK = {1452, 1216}             # insert/update of a row whose parent is gone
_MYSQL_PARENT_FK = {1451, 1217}            # delete/update of a row still referenced

# Session.info key: checks to run after the last flush, right before COMMIT.
_BEFORE_COMMIT = "neutrino.before_commit"


def _orig(error: BaseException) -> Any:
    return getattr(error, "orig", None)


def _mysql_code(orig: Any) -> int | None:
    code = getattr(orig, "args", [None])[0] if orig is not None else None
    return code if isinstance(code, int) else None


def is_transient(error: BaseException) -> bool:
    """Deadlocks, serialization failures, lock wait timeouts, busy SQLite."""
    if isinstance(error, sa_exc.IntegrityError):
        return False
    if not isinstance(error, sa_exc.DBAPIError):
        return False
    orig = _orig(error)
    if _mysql_code(orig) in _MYSQL_RETRY_CODES:
        return True
    if getattr(orig, "sqlstate", None) in _PG_RETRY_STATES:
        return True
    text = str(orig).lower()
    return "database is locked" in text or "deadlock" in text


def is_retriable(error: BaseException) -> bool:
    """True for what may be a race: transient errors, unique and foreign-key
    violations (`Database.run` retries the latter two only while they change)."""
    if isinstance(error, sa_exc.IntegrityError):
        return is_unique_violation(error) or is_foreign_key_violation(error)
    return is_transient(error)


def is_unique_violation(error: sa_exc.IntegrityError) -> bool:
    orig = error.orig
    if getattr(orig, "sqlstate", None) == "23505":
        return True
    if _mysql_code(orig) == 1062:
        return True
    text = str(orig).lower()
    return "unique constraint" in text or "duplicate" in text


def is_foreign_key_violation(error: sa_exc.IntegrityError) -> bool:
    orig = error.orig
    if getattr(orig, "sqlstate", None) == "23503":
        return True
    if _mysql_code(orig) in _MYSQL_CHILD_FK | _MYSQL_PARENT_FK:
        return True
    return "foreign key constraint" in str(orig).lower()


def is_outage(error: BaseException) -> bool:
    """The database cannot be reached or dropped the connection (including the
    connection cut by the transaction watchdog): a 503, not the request's fault."""
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection in time
        return True
    if not isinstance(error, sa_exc.DBAPIError) or isinstance(error, sa_exc.IntegrityError):
        return False
    if error.connection_invalidated:
        return True
    orig = _orig(error)
    state = getattr(orig, "sqlstate", None) or ""
    if state.startswith(_PG_GONE_CLASSES):
        return True
    if _mysql_code(orig) in _MYSQL_GONE_CODES:
        return True
    text = str(orig).lower()
    return any(s in text for s in ("connection refused", "could not connect",
                                   "server closed the connection", "connection timeout",
                                   "timeout expired", "unable to open database file",
                                   "lost connection", "can't connect"))


def _violation(error: sa_exc.IntegrityError) -> str:
    """What identifies one violation: constraint and key values where the driver
    tells them (PostgreSQL's detail, MariaDB's message), else the message."""
    orig = error.orig
    diag = getattr(orig, "diag", None)
    if diag is not None and getattr(diag, "constraint_name", None):
        return f"{diag.constraint_name}|{diag.message_detail}"
    return str(orig)


def _conflict(error: sa_exc.IntegrityError) -> exc.NeutronError:
    """The error a violation that is no race answers (no input echoed back)."""
    if not is_foreign_key_violation(error):
        return exc.DBDuplicateEntry()
    orig = error.orig
    text = str(orig).lower()
    if _mysql_code(orig) in _MYSQL_CHILD_FK or text.startswith("insert or update"):
        return exc.DBReferenceNotFound()
    return exc.DBReferenceInUse()


class _Health:
    """Whether the database answered last: logs each change of state once (per
    process), not each failed request."""

    def __init__(self, url: str) -> None:
        self._where = url.split("@")[-1]  # no credentials in logs
        self._lock = threading.Lock()
        self.down_since: float | None = None

    def down(self, error: BaseException) -> None:
        with self._lock:
            if self.down_since is not None:
                return
            self.down_since = time.monotonic()
        LOG.error("database %s unavailable, answering 503 until it is back: %s",
                  self._where, _one_line(error))

    def up(self) -> None:
        if self.down_since is None:  # the common case: no lock
            return
        with self._lock:
            since, self.down_since = self.down_since, None
        if since is not None:
            LOG.warning("database %s available again after %.1f s", self._where,
                        time.monotonic() - since)


def _one_line(error: BaseException) -> str:
    orig = _orig(error) or error
    return f"{type(orig).__name__}: {str(orig).strip().splitlines()[0] if str(orig) else ''}"


class _Watchdog:
    """Bounds a transaction's time: past its deadline, the socket of the
    connection it holds is shut down, so a statement blocked on a black-holed
    database fails (the connection is invalidated) instead of hanging. Drivers
    offer no read timeout that covers every call (psycopg has none), hence this.

    A guard belongs to a thread (one transaction at a time per thread); the socket
    is attached at checkout and detached at checkin under the same lock the
    watchdog fires under, so it never cuts a connection another thread took since.
    """

    def __init__(self, bound: float) -> None:
        self.bound = bound
        self._lock = threading.Lock()
        self._guards: dict[int, list[Any]] = {}  # thread -> [deadline, fd, fired]
        self._thread: threading.Thread | None = None

    @contextmanager
    def guard(self) -> Iterator[None]:
        ident = threading.get_ident()
        with self._lock:
            self._guards[ident] = [time.monotonic() + self.bound, None, False]
            if self._thread is None or not self._thread.is_alive():
                # Started lazily: a forked worker gets its own.
                self._thread = threading.Thread(target=self._loop, daemon=True,
                                                name="db-watchdog")
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._guards.pop(ident, None)

    def attach(self, fd: int | None) -> None:
        with self._lock:
            guard = self._guards.get(threading.get_ident())
            if guard is not None:
                guard[1] = fd
                if guard[2] or time.monotonic() > guard[0]:
                    self._cut(guard)  # past the deadline already: fail fast

    def _loop(self) -> None:
        tick = max(0.05, min(1.0, self.bound / 10))
        while True:
            time.sleep(tick)
            now = time.monotonic()
            with self._lock:
                for guard in self._guards.values():
                    if guard[0] < now and guard[1] is not None:
                        self._cut(guard)

    @staticmethod
    def _cut(guard: list[Any]) -> None:
        fd, guard[1], guard[2] = guard[1], None, True
        if fd is None:
            return
        try:
            dup = socket.socket(fileno=os.dup(fd))
        except OSError:
            return
        try:
            dup.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        finally:
            dup.close()
        LOG.debug("transaction over its time bound: connection cut")


def _socket_fd(dbapi_conn: Any) -> int | None:
    try:
        if hasattr(dbapi_conn, "pgconn"):        # psycopg 3
            return dbapi_conn.fileno()
        sock = getattr(dbapi_conn, "_sock", None)  # PyMySQL
        return sock.fileno() if sock is not None else None
    except Exception:  # noqa: BLE001 - a closed connection has no socket
        return None


class Database:
    """Owns the engine; hands out write and read sessions.

    SQLite runs in WAL mode and takes its write lock at BEGIN (IMMEDIATE), so two
    writers queue instead of deadlocking on a lock upgrade.

    PostgreSQL and MariaDB: connecting waits at most `connect_timeout` seconds, a
    pooled connection at most `pool_timeout`, and a whole transaction at most
    `transaction_timeout` (then its connection is cut: 503).
    """

    def __init__(self, url: str, pool_size: int = 10, max_overflow: int = 20,
                 pool_timeout: int = 10, max_retries: int = 20,
                 connect_timeout: int = 5, transaction_timeout: float = 30) -> None:
        self.url = url
        self.max_retries = max_retries
        self.is_sqlite = url.startswith("sqlite")
        self.health = _Health(url)
        self._watchdog = (None if self.is_sqlite or transaction_timeout <= 0
                          else _Watchdog(transaction_timeout))
        self.engine = self._create_engine(url, pool_size, max_overflow, pool_timeout,
                                          connect_timeout)
        self._sessions = sessionmaker(bind=self.engine, expire_on_commit=False,
                                      autoflush=True)
        self._sqlite_writer = threading.RLock()

    def _create_engine(self, url: str, pool_size: int, max_overflow: int,
                       pool_timeout: int, connect_timeout: int) -> Engine:
        if self.is_sqlite:
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            engine = create_engine(url, connect_args={"check_same_thread": False,
                                                      "timeout": 60})
            _sqlite_events(engine)
            return engine
        kwargs: dict = {"pool_size": pool_size, "max_overflow": max_overflow,
                        "pool_timeout": pool_timeout, "pool_recycle": 3600}
        if url.startswith("mysql"):
            kwargs["isolation_level"] = "READ COMMITTED"
            kwargs["connect_args"] = {"charset": "utf8mb4",
                                      "connect_timeout": connect_timeout}
            if self._watchdog is not None:
                # PyMySQL's connect_timeout covers the TCP connect only; its read
                # timeout also bounds the handshake (no statement may outlast the
                # transaction's bound anyway).
                bound = max(1, round(self._watchdog.bound))
                kwargs["connect_args"].update(read_timeout=bound, write_timeout=bound)
        else:
            kwargs["connect_args"] = {"connect_timeout": max(2, connect_timeout)}
        engine = create_engine(url, **kwargs)
        _ping_on_checkout(engine, self._watchdog)
        return engine

    def dispose(self) -> None:
        """Drop pooled connections (after a fork, the child must not share them)."""
        self.engine.dispose(close=False)

    @staticmethod
    def before_commit(session: Session, key: object, check: Callable[[Session], None]
                      ) -> None:
        """Run `check(session)` once (per key) after the transaction's last flush,
        right before COMMIT: to check what the whole transaction wrote while holding
        a lock for as short a time as possible (see services/quotas.py)."""
        session.info.setdefault(_BEFORE_COMMIT, {}).setdefault(key, check)

    @contextmanager
    def session(self, write: bool = True) -> Iterator[Session]:
        # SQLite has one writer at a time; threads of this process queue on a lock
        # (first come, first served) instead of polling in SQLite's busy handler,
        # which sleeps up to 100 ms a try and makes latency spiky.
        lock = self._sqlite_writer if write and self.is_sqlite else None
        guard = self._watchdog.guard() if self._watchdog is not None else _nothing()
        with guard:
            if lock is not None:
                lock.acquire()
            session = self._sessions()
            try:
                if lock is not None:
                    session.connection(execution_options={"sqlite_immediate": True})
                yield session
                checks = session.info.pop(_BEFORE_COMMIT, None)
                if checks:
                    session.flush()
                    for check in checks.values():
                        check(session)
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()
                if lock is not None:
                    lock.release()

    def run(self, fn: Callable[[Session], T], write: bool = True) -> T:
        """Run fn(session) in one transaction, retrying races (see the module's
        docstring); DatabaseUnavailable (503) when the database is out of reach.

        fn must do no I/O other than the database: it may run several times.
        """
        attempt = 0
        last_violation: str | None = None
        while True:
            try:
                with self.session(write=write) as session:
                    result = fn(session)
                self.health.up()
                return result
            except (sa_exc.DBAPIError, sa_exc.TimeoutError) as error:
                if isinstance(error, sa_exc.TimeoutError):
                    # Every pooled connection busy: overload, not an outage.
                    LOG.debug("no database connection in time: %s", error)
                    raise exc.DatabaseUnavailable() from error
                if is_outage(error):
                    self.health.down(error)
                    raise exc.DatabaseUnavailable() from error
                if isinstance(error, sa_exc.IntegrityError) and is_retriable(error):
                    violation = _violation(error)
                    if violation == last_violation:
                        raise _conflict(error) from error
                    last_violation = violation
                elif not is_transient(error):
                    raise
                attempt += 1
                if attempt > self.max_retries:
                    LOG.warning("giving up after %d retries: %s", attempt - 1,
                                _one_line(error))
                    raise exc.DBRetryExhausted() from error
                LOG.debug("retrying transaction (attempt %d): %s", attempt,
                          _one_line(error))
                time.sleep(random.uniform(0, min(0.5, 0.005 * 2 ** attempt)))


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _ping_on_checkout(engine: Engine, watchdog: _Watchdog | None) -> None:
    """Pre-ping (a pooled connection may be dead since the last outage) under the
    watchdog: SQLAlchemy's own pre-ping runs before any event, unguarded, and
    would hang on a black-holed database."""
    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn, _record, _proxy) -> None:  # noqa: ANN001
        if watchdog is not None:
            watchdog.attach(_socket_fd(dbapi_conn))
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except Exception as error:  # noqa: BLE001 - any failure: reconnect
            if watchdog is not None:
                watchdog.attach(None)
            raise sa_exc.InvalidatePoolError() from error
        if not alive:
            raise sa_exc.InvalidatePoolError()

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn, _record) -> None:  # noqa: ANN001
        if watchdog is not None:
            watchdog.attach(None)


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
