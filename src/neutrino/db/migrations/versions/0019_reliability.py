"""Reliability: case-sensitive columns on MariaDB and other hardening

* MariaDB/MySQL: every table (and the database's default, for tables created
  later) to the binary NO PAD collation, so that names, tags, project ids and ids
  compare as on PostgreSQL and SQLite: "a" and "A", or "a" and "a ", are two values,
  not one (a unique key took them for duplicates; an upper-case id in a path found
  the resource on MariaDB only).
* quota_locks: rows MariaDB/MySQL lock to count a project's usage exactly at commit.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

BINARY = "utf8mb4_nopad_bin"   # MariaDB >= 10.2; MySQL 8: utf8mb4_0900_bin
DEFAULT = "utf8mb4_general_ci"  # what the tables had (the server's utf8mb4 default)


def upgrade() -> None:
    op.create_table(
        "quota_locks",
        sa.Column("project_id", sa.String(255), nullable=False),
        sa.Column("resource", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "resource", name="pk_quota_locks"),
    )
    bind = op.get_bind()
    if bind.dialect.name == "mysql":
        _collate(bind, _binary_collation(bind))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "mysql":
        _collate(bind, DEFAULT)
    op.drop_table("quota_locks")


def _binary_collation(bind: sa.engine.Connection) -> str:
    names = set(bind.exec_driver_sql(
        "SELECT collation_name FROM information_schema.collations "
        "WHERE character_set_name = 'utf8mb4'").scalars())
    for name in (BINARY, "utf8mb4_0900_bin", "utf8mb4_bin"):
        if name in names:
            return name
    raise RuntimeError("no binary utf8mb4 collation on this server")


def _collate(bind: sa.engine.Connection, collation: str) -> None:
    database = bind.exec_driver_sql("SELECT DATABASE()").scalar()
    bind.exec_driver_sql(
        f"ALTER DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE {collation}")
    # A fresh database was given the collation before its first table
    # (db/migrate.py): only tables made before that change.
    tables = bind.exec_driver_sql(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
        "AND table_type = 'BASE TABLE' AND table_name <> 'alembic_version' "
        "AND table_collation <> %s", (database, collation)).scalars().all()
    if not tables:
        return
    # MariaDB refuses to change a column on either side of a foreign key, even
    # with foreign_key_checks off: the keys go, the tables change, the keys return.
    inspector = sa.inspect(bind)
    keys = {}
    for table in inspector.get_table_names():
        fks = inspector.get_foreign_keys(table)
        if table in tables or any(fk["referred_table"] in tables for fk in fks):
            keys[table] = fks
    bind.exec_driver_sql("SET SESSION foreign_key_checks = 0")
    try:
        for table, fks in keys.items():
            if fks:
                drops = ", ".join(f"DROP FOREIGN KEY `{fk['name']}`" for fk in fks)
                bind.exec_driver_sql(f"ALTER TABLE `{table}` {drops}")
        for table in tables:
            bind.exec_driver_sql(
                f"ALTER TABLE `{table}` CONVERT TO CHARACTER SET utf8mb4 "
                f"COLLATE {collation}")
        for table, fks in keys.items():
            if fks:
                adds = ", ".join(_add_foreign_key(fk) for fk in fks)
                bind.exec_driver_sql(f"ALTER TABLE `{table}` {adds}")
    finally:
        bind.exec_driver_sql("SET SESSION foreign_key_checks = 1")


def _add_foreign_key(fk: dict) -> str:
    options = fk.get("options") or {}
    own = ", ".join(f"`{c}`" for c in fk["constrained_columns"])
    referred = ", ".join(f"`{c}`" for c in fk["referred_columns"])
    sql = (f"ADD CONSTRAINT `{fk['name']}` FOREIGN KEY ({own}) "
           f"REFERENCES `{fk['referred_table']}` ({referred})")
    for clause in ("ondelete", "onupdate"):
        if options.get(clause):
            sql += f" ON {clause[2:].upper()} {options[clause]}"
    return sql
