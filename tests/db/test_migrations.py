"""Alembic migrations on each backend: they build exactly the models' schema and
go down and up again cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from backends import database
from neutrino.db import migrate
from neutrino.db.engine import Database
from neutrino.db.models import Base


@pytest.fixture
def empty_db(backend: str, tmp_path: Path):
    with database(backend, tmp_path) as url:
        db = Database(url)
        yield db
        db.engine.dispose()


def test_upgrade_builds_the_models_schema(empty_db: Database) -> None:
    migrate.upgrade(empty_db)
    assert migrate.is_current(empty_db)
    with empty_db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_downgrade_to_base_and_upgrade_again(empty_db: Database) -> None:
    migrate.upgrade(empty_db)
    migrate.downgrade(empty_db, "base")
    assert migrate.current(empty_db) is None
    tables = set(inspect(empty_db.engine).get_table_names()) - {"alembic_version"}
    assert tables == set()
    migrate.upgrade(empty_db)
    assert migrate.current(empty_db) == migrate.head(empty_db)
