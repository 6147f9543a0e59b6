"""Database backends for tests: a fresh, empty database per test session.

NEUTRINO_TEST_BACKENDS (default "sqlite,postgresql,mysql") chooses which run. A
backend whose server does not answer is skipped with a reason, except in CI
(CI=true), where it is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

PG_ADMIN = os.environ.get("NEUTRINO_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
MYSQL_ADMIN = os.environ.get("NEUTRINO_TEST_MYSQL", "mysql+pymysql://root@127.0.0.1:3306")
ALL_BACKENDS = ["sqlite", "postgresql", "mysql"]


def selected_backends() -> list[str]:
    raw = os.environ.get("NEUTRINO_TEST_BACKENDS", ",".join(ALL_BACKENDS))
    return [b.strip() for b in raw.split(",") if b.strip()]


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason: str) -> None:
    if in_ci():
        pytest.fail(f"{reason} (CI=true: every backend is required)")
    pytest.skip(reason)


@contextmanager
def database(backend: str, tmp_dir: Path) -> Iterator[str]:
    """Yields an SQLAlchemy URL of a new empty database, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_dir / 'neutrino.sqlite'}"
        return
    from sqlalchemy import create_engine, text
    name = f"neutrino_test_{uuid.uuid4().hex[:10]}"
    admin_url = PG_ADMIN + "/postgres" if backend == "postgresql" else MYSQL_ADMIN + "/"
    start = "postgresql" if backend == "postgresql" else "MariaDB/MySQL"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if backend == "postgresql":
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            else:
                conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    except Exception as error:  # noqa: BLE001 - any connection failure means "not here"
        engine.dispose()
        unavailable(f"{start} not reachable at {admin_url} ({type(error).__name__}); "
                    "start it (make services) or set NEUTRINO_TEST_BACKENDS=sqlite")
    base = PG_ADMIN if backend == "postgresql" else MYSQL_ADMIN
    try:
        yield f"{base}/{name}"
    finally:
        with engine.connect() as conn:
            if backend == "postgresql":
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            else:
                conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        engine.dispose()
