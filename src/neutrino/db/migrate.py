"""Schema migrations (Alembic), used by neutrino-db-manage and the embedded start."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from neutrino.db.engine import Database

SCRIPT_LOCATION = "neutrino.db:migrations"


def alembic_config(db: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return config


def upgrade(db: Database, revision: str = "head") -> None:
    config = alembic_config(db)
    with db.engine.begin() as connection:
        if revision == "head" and connection.dialect.name == "mysql":
            _binary_before_first_table(connection)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def _binary_before_first_table(connection: Connection) -> None:
    """On an empty MariaDB/MySQL database, make the binary collation (revision 0019)
    its default before any table exists: tables are born case-sensitive and 0019
    has nothing to convert (converting costs seconds per schema)."""
    if MigrationContext.configure(connection).get_current_revision() is not None:
        return
    names = set(connection.exec_driver_sql(
        "SELECT collation_name FROM information_schema.collations "
        "WHERE character_set_name = 'utf8mb4'").scalars())
    collation = next((n for n in ("utf8mb4_nopad_bin", "utf8mb4_0900_bin") if n in names),
                     "utf8mb4_bin")
    database = connection.exec_driver_sql("SELECT DATABASE()").scalar()
    connection.exec_driver_sql(
        f"ALTER DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE {collation}")


def downgrade(db: Database, revision: str) -> None:
    config = alembic_config(db)
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def current(db: Database) -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head(db: Database) -> str | None:
    return ScriptDirectory.from_config(alembic_config(db)).get_current_head()


def is_current(db: Database) -> bool:
    return current(db) == head(db)
