"""Migration 0006 on SQLite: networks' `shared` flag (and external networks) become
"*" RBAC policies, and come back on downgrade."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from neutrino.db import migrate
from neutrino.db.engine import Database

NETWORK = {"name": "", "description": "", "admin_state_up": True, "status": "ACTIVE",
           "mtu": 1500, "revision_number": 0, "created_at": "2026-01-01 00:00:00",
           "updated_at": "2026-01-01 00:00:00"}


def test_shared_and_external_networks_become_policies(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.sqlite'}")
    try:
        migrate.upgrade(db, "0005")
        with db.engine.begin() as conn:
            for net_id, shared in (("n-shared", True), ("n-private", False),
                                   ("n-external", False)):
                conn.execute(sa.text(
                    "INSERT INTO networks (id, project_id, name, description, "
                    "admin_state_up, status, mtu, revision_number, created_at, "
                    "updated_at, shared) VALUES (:id, 'owner', :name, :description, "
                    ":admin_state_up, :status, :mtu, :revision_number, :created_at, "
                    ":updated_at, :shared)"), dict(NETWORK, id=net_id, shared=shared))
            conn.execute(sa.text("INSERT INTO externalnetworks (network_id, is_default) "
                                 "VALUES ('n-external', 0)"))
        migrate.upgrade(db, "0006")
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT object_type, object_id, action, target_project, project_id "
                "FROM rbacpolicies ORDER BY object_id")).all()
            columns = {c["name"] for c in sa.inspect(conn).get_columns("networks")}
        assert [tuple(r) for r in rows] == [
            ("network", "n-external", "access_as_external", "*", "owner"),
            ("network", "n-shared", "access_as_shared", "*", "owner")]
        assert "shared" not in columns
        migrate.downgrade(db, "0005")
        with db.engine.connect() as conn:
            shared = dict(conn.execute(sa.text("SELECT id, shared FROM networks")).all())
        assert shared == {"n-shared": 1, "n-private": 0, "n-external": 0}
    finally:
        db.engine.dispose()
