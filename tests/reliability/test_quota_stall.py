"""Quotas hold exactly however many creates are in flight: with every router INSERT
stalled (the test holds a lock on the routers table), 32 concurrent creates
(on 2 workers of 32 threads) all pass the first count; only
the limit's worth may commit.

Before the count at commit, a margin (LOCK_MARGIN = 64) stood in for "how many
transactions can be in flight", and 128 stalled creates left 120 routers against a
limit of 100. SQLite serializes writers: there is nothing to stall there.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from faults_fixtures import own_server, project_api, wait_for
from sqlalchemy import create_engine, text

from backends import selected_backends, unavailable
from server import Api

# The kernel spreads connections over the workers unevenly: each worker can run
# every create at once (threads and pool), so all stall whatever the spread.
WORKERS, THREADS, CREATES = 2, 32, 32
LIMIT = 20


@pytest.fixture(params=[b for b in selected_backends() if b != "sqlite"] or ["none"])
def stall_backend(request: pytest.FixtureRequest) -> str:
    if request.param == "none":
        unavailable("the quota stall needs PostgreSQL or MariaDB "
                    "(NEUTRINO_TEST_BACKENDS)")
    return request.param


def _waiting(conn, backend: str) -> int:  # noqa: ANN001
    """Sessions of this database blocked on the table lock."""
    if backend == "postgresql":
        sql = ("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
               "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
    else:
        sql = ("SELECT count(*) FROM information_schema.processlist WHERE db = DATABASE() "
               "AND state LIKE 'Waiting for table%' AND id <> CONNECTION_ID()")
    return conn.execute(text(sql)).scalar()


def test_quota_holds_with_every_insert_stalled(stall_backend: str, tmp_path: Path) -> None:
    backend = stall_backend
    # The stall is the test's doing: no transaction bound may cut it short.
    with own_server(backend, tmp_path, workers=WORKERS,
                    extra_conf=f"api_threads = {THREADS}\n[database]\n"
                               f"transaction_timeout = 300\nmax_pool_size = {THREADS}") as server:
        admin = project_api(server, backend)
        project = admin.client.headers["X-Project-Id"]
        assert Api(server.url).put(f"quotas/{project}",
                                   {"quota": {"router": LIMIT}}).status_code == 200
        in_flight = CREATES
        watcher = create_engine(server.direct_db_url, isolation_level="AUTOCOMMIT")
        holder = create_engine(server.direct_db_url)
        statuses: Counter[int] = Counter()
        lock = threading.Lock()

        def create(n: int) -> None:
            api = Api(server.url, project, ["admin"], backend)
            response = api.post("routers", {"router": {"name": f"r{n}"}})
            with lock:
                statuses[response.status_code] += 1

        with holder.connect() as hold, watcher.connect() as watch:
            if backend == "postgresql":
                hold.execute(text("LOCK TABLE routers IN SHARE MODE"))
            else:
                hold.execute(text("LOCK TABLES routers READ"))
            threads = [threading.Thread(target=create, args=(n,))
                       for n in range(in_flight)]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            # Every create has counted (0 of LIMIT used) and waits on its INSERT.
            progress: list[tuple[float, int]] = []

            def all_stalled() -> bool:
                waiting = _waiting(watch, backend)
                if not progress or progress[-1][1] != waiting:
                    progress.append((round(time.monotonic() - started, 1), waiting))
                return waiting >= in_flight
            try:
                wait_for(all_stalled, 60, f"{in_flight} router INSERTs stalled")
            finally:
                print(f"(seconds, creates stalled): {progress}")
            stalled_for = time.monotonic() - started
            if backend == "postgresql":
                hold.rollback()
            else:
                hold.execute(text("UNLOCK TABLES"))
            for thread in threads:
                thread.join(timeout=120)
            count = watch.execute(text("SELECT count(*) FROM routers WHERE project_id = "
                                       ":p"), {"p": project}).scalar()
        watcher.dispose()
        holder.dispose()
        print(f"{backend}: {in_flight} creates stalled ({stalled_for:.1f} s to stall "
              f"them all), answers {dict(statuses)}, routers {count}/{LIMIT}")
        assert statuses == Counter({201: LIMIT, 409: in_flight - LIMIT})
        assert count == LIMIT
        usage = admin.get(f"quotas/{project}/details").json()["quota"]["router"]
        assert usage["used"] == LIMIT
