"""State reports over the in-process (fake://) bus: the endpoint's upsert, the agent
service's view of it, and the RPC plumbing (server + client in one process)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import update

from neutrino import conf as conf_mod
from neutrino.context import Context
from neutrino.contract import bus as transport
from neutrino.contract import topics
from neutrino.contract.bus import StateReporter
from neutrino.db import migrate, models
from neutrino.db.engine import Database
from neutrino.db.listing import ListQuery
from neutrino.events import Registry
from neutrino.rpc import endpoints
from neutrino.rpc.server import RpcService, endpoints_for
from neutrino.services.agents import AgentService
from neutrino.services.deps import Deps


@pytest.fixture
def conf(tmp_path: Path):
    conf = conf_mod.new_conf([])
    conf.set_override("state_path", str(tmp_path))
    return conf


@pytest.fixture
def db(conf) -> Database:
    database = Database(conf_mod.database_url(conf))
    migrate.upgrade(database)
    yield database
    database.engine.dispose()


def state(host: str, **extra: object) -> dict:
    return {"agent_type": topics.AGENT_TYPE_DHCP, "binary": "neutrino-dhcp-agent",
            "topic": topics.DHCP_AGENT, "host": host, "start_flag": True,
            "availability_zone": "az1", "configurations": {"networks": 2}, **extra}


def test_defaults(conf) -> None:
    assert conf.transport_url == "fake://"
    assert conf.agent_down_time == 75
    assert conf.rpc_response_timeout == 60
    assert transport.is_in_process(conf)


def test_fanout_topic_names() -> None:
    assert topics.fanout_topic("port", "update") == topics.PORT_UPDATE
    assert topics.fanout_topic("securitygroup", "update") == topics.SECURITY_GROUP_UPDATE


def test_report_state_upserts(conf, db: Database) -> None:
    endpoint = endpoints.AgentStateEndpoint(db, conf.agent_down_time)
    host = f"h-{uuid.uuid4().hex[:8]}"
    nested = {"agent_state": state(host)}
    assert endpoint.report_state({}, agent_state=nested, time="x") == endpoints.AGENT_NEW
    assert endpoint.report_state({}, agent_state=state(host, start_flag=False,
                                                       configurations={"networks": 3})
                                 ) == endpoints.AGENT_ALIVE
    rows = db.run(lambda s: s.query(models.Agent).all(), write=False)
    assert len(rows) == 1
    assert rows[0].host == host and rows[0].admin_state_up is True
    assert json.loads(rows[0].configurations) == {"networks": 3}
    # Missing keys: ignored, nothing written.
    assert endpoint.report_state({}, agent_state={"host": host}) == "invalid"


def test_revived_after_down_time(conf, db: Database) -> None:
    endpoint = endpoints.AgentStateEndpoint(db, 10)
    host = f"h-{uuid.uuid4().hex[:8]}"
    endpoint.report_state({}, agent_state=state(host))
    old = models.utcnow() - dt.timedelta(seconds=120)  # > 75 and > 10
    db.run(lambda s: s.execute(update(models.Agent).values(heartbeat_timestamp=old)))
    service = AgentService(Deps(conf=conf, db=db, events=Registry(), quotas=None))
    ctx = Context.admin("admin")
    [agent] = service.list(ctx, ListQuery(filters={"alive": [False]}))
    assert agent["alive"] is False
    assert service.list(ctx, ListQuery(filters={"alive": [True]})) == []
    assert endpoint.report_state({}, agent_state=state(host)) == endpoints.AGENT_REVIVED
    assert service.get(ctx, agent["id"])["alive"] is True


def test_availability_zones(conf, db: Database) -> None:
    endpoint = endpoints.AgentStateEndpoint(db, conf.agent_down_time)
    endpoint.report_state({}, agent_state=state("a", availability_zone="z1"))
    endpoint.report_state({}, agent_state=state(
        "a", agent_type=topics.AGENT_TYPE_L3, availability_zone="z2"))
    endpoint.report_state({}, agent_state=state(
        "b", agent_type=topics.AGENT_TYPE_LINUXBRIDGE, availability_zone="z3"))
    service = AgentService(Deps(conf=conf, db=db, events=Registry(), quotas=None))
    assert service.availability_zones() == [
        {"name": "z1", "resource": "network", "state": "available"},
        {"name": "z2", "resource": "router", "state": "available"}]


def test_round_trip_over_fake_transport(conf, db: Database) -> None:
    rpc = RpcService(conf, endpoints_for(conf, db), host="server-1").start()
    try:
        assert rpc.wait_started(10)
        reporter = StateReporter(rpc.transport, "compute-1", timeout=10)
        assert reporter.report(state("compute-1")) == "new"
        # host defaults to the reporter's
        assert reporter.report({k: v for k, v in state("x").items() if k != "host"}
                               ) == "alive"
    finally:
        rpc.stop()
    hosts = db.run(lambda s: sorted(a.host for a in s.query(models.Agent)), write=False)
    assert hosts == ["compute-1"]
