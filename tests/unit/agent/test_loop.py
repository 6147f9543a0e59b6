"""The agents' main loop: first sync at start, coalesced triggers, periodic
resync, retry after failure, heartbeats with start_flag first."""

from __future__ import annotations

import threading
import time

from neutrino.agent.common.loop import AgentLoop
from neutrino.agent.common.rpc import NotificationEndpoint


def wait_for(check, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return False


class Recorder:
    def __init__(self, fail_times: int = 0) -> None:
        self.syncs: list[float] = []
        self.reports: list[bool] = []
        self.fail_times = fail_times
        self.lock = threading.Lock()

    def sync(self) -> None:
        with self.lock:
            if self.fail_times:
                self.fail_times -= 1
                raise ConnectionError("server away")
            self.syncs.append(time.monotonic())

    def report(self, start_flag: bool) -> None:
        self.reports.append(start_flag)


def test_syncs_at_start_and_coalesces_a_burst_of_triggers() -> None:
    rec = Recorder()
    loop = AgentLoop(rec.sync, None, report_interval=0, resync_interval=60,
                     polling_interval=0.3).start()
    try:
        assert wait_for(lambda: len(rec.syncs) == 1)
        for i in range(20):
            loop.trigger(f"device tap{i} added")
        assert wait_for(lambda: len(rec.syncs) >= 2)
        time.sleep(0.8)
        assert len(rec.syncs) == 2  # twenty events, one sync
    finally:
        loop.stop()


def test_periodic_resync_without_any_trigger() -> None:
    rec = Recorder()
    loop = AgentLoop(rec.sync, None, report_interval=0, resync_interval=0.3,
                     polling_interval=0.05).start()
    try:
        assert wait_for(lambda: len(rec.syncs) >= 3, within=3)
    finally:
        loop.stop()


def test_failed_sync_is_retried() -> None:
    rec = Recorder(fail_times=2)
    loop = AgentLoop(rec.sync, None, report_interval=0, resync_interval=60,
                     polling_interval=0.05).start()
    try:
        assert wait_for(lambda: len(rec.syncs) == 1, within=3)
        assert loop.last_error is None
    finally:
        loop.stop()


def test_heartbeat_sets_start_flag_on_first_report_only() -> None:
    rec = Recorder()
    loop = AgentLoop(rec.sync, rec.report, report_interval=0.05, resync_interval=60,
                     polling_interval=0.05).start()
    try:
        assert wait_for(lambda: len(rec.reports) >= 3)
        assert rec.reports[0] is True and not any(rec.reports[1:])
    finally:
        loop.stop()


def test_any_notification_method_triggers_a_resync() -> None:
    reasons: list[str] = []
    endpoint = NotificationEndpoint(reasons.append)
    endpoint.port_update({}, port={"id": "p"})
    endpoint.network_delete({}, network_id="n")
    endpoint.some_future_notification({})
    assert reasons == ["notification port_update", "notification network_delete",
                       "notification some_future_notification"]
    assert not hasattr(endpoint, "_private")
    assert not hasattr(endpoint, "oslo_rpc_server_ping")


def test_urgent_trigger_cuts_the_back_off_after_a_failed_sync() -> None:
    # The first sync fails: the retry would wait 30 s; the bus reconnecting (an
    # urgent trigger) makes it now.
    rec = Recorder(fail_times=1)
    loop = AgentLoop(rec.sync, None, report_interval=0, resync_interval=60,
                     polling_interval=30).start()
    try:
        assert wait_for(lambda: loop.last_error is not None)
        loop.trigger("device tap0 added")  # not urgent: the back-off holds
        time.sleep(0.3)
        assert rec.syncs == []
        loop.trigger("bus reconnected", urgent=True)
        assert wait_for(lambda: len(rec.syncs) == 1, within=3)
    finally:
        loop.stop()


def test_reconnect_watch_fires_on_the_reconnected_record_only() -> None:
    # oslo.messaging says it reconnected only in its log (agent/common/reconnect.py).
    import logging

    from neutrino.agent.common.reconnect import RABBIT_LOGGER, ReconnectWatch

    calls: list[str] = []
    watch = ReconnectWatch(lambda: calls.append("reconnected")).start()
    logger = logging.getLogger(RABBIT_LOGGER)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        logger.error("[%(connection_id)s] AMQP server on %(hostname)s:%(port)s is "
                     "unreachable", {"connection_id": "c", "hostname": "h", "port": 1})
        assert calls == []
        # The record as oslo.messaging's impl_rabbit logs it.
        logger.info("[%(connection_id)s] Reconnected to AMQP server on "
                    "%(hostname)s:%(port)s via [%(transport)s] client with port "
                    "%(client_port)s.", {"connection_id": "c", "hostname": "h",
                                         "port": 1, "transport": "amqp",
                                         "client_port": 2})
        assert calls == ["reconnected"]
        watch.stop()
        logger.info("[%(connection_id)s] Reconnected to AMQP server on ...",
                    {"connection_id": "c"})
        assert calls == ["reconnected"]
    finally:
        watch.stop()
        logger.setLevel(level)
