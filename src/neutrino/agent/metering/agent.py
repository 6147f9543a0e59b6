"""``neutrino-metering-agent --config-file metering_agent.ini``: counts the traffic
of metering labels in this host's router namespaces and publishes it.

It reports itself as upstream's "Metering agent" (topic ``metering_agent``). Its
sync (agent/common/loop.py: at start, on any ``metering_agent`` fanout, every
``resync_interval``) asks ``get_sync_data_metering`` on ``q-metering-plugin`` for
the host's routers with their labels and rules (contract/metering.py). Every
``measure_interval`` seconds it makes sure each router's table is there (a
namespace the L3 agent made since the last sync gets its table then), reads and
resets the counters (driver.py) and adds them to each label's totals (meter.py);
every ``report_interval`` seconds it publishes one ``l3.meter`` notification per
label (oslo.messaging notifications, publisher ``metering.<host>``).

Notifications follow ``[oslo_messaging_notifications]`` (``driver``, ``topics``,
``transport_url``). Left unset, the driver is ``messagingv2`` on a broker (topic
``notifications``, as upstream with notifications on) and ``log`` on the
in-process bus, where nothing could consume them.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import Any

import oslo_messaging
from oslo_config import cfg

from neutrino.agent.common import service
from neutrino.agent.common.rpc import NotificationListener
from neutrino.agent.metering import config as metering_config
from neutrino.agent.metering.driver import Measurement, MeterDriver
from neutrino.agent.metering.meter import Meter
from neutrino.contract import bus as rpc_transport
from neutrino.contract import metering
from neutrino.contract.agent_state import AgentState
from neutrino.contract.bus import StateReporter
from neutrino.contract.metering import MeteringState, MeterReport

LOG = logging.getLogger(__name__)

BINARY = "neutrino-metering-agent"


class MeteringPluginApi:
    """The agent's call on q-metering-plugin."""

    def __init__(self, transport: oslo_messaging.Transport, host: str,
                 timeout: float | None = None, server: str | None = None) -> None:
        self.host = host
        target = oslo_messaging.Target(topic=metering.METERING_PLUGIN, version="1.0")
        client = oslo_messaging.get_rpc_client(transport, target, timeout=timeout)
        # oslo.messaging is untyped: the answer's type is the contract's.
        self.client: Any = client.prepare(server=server) if server else client

    def get_sync_data_metering(self) -> MeteringState:
        state: MeteringState = self.client.call({}, "get_sync_data_metering",
                                                host=self.host)
        return state


def agent_state(host: str, conf: cfg.ConfigOpts, tables: int, start_flag: bool
                ) -> AgentState:
    """The state report (heartbeat), with upstream's configurations."""
    state: AgentState = {
        "agent_type": metering.AGENT_TYPE_METERING, "binary": BINARY,
        "topic": metering.METERING_AGENT, "host": host,
        "configurations": {"metering_driver": conf.driver,
                           "measure_interval": conf.measure_interval,
                           "report_interval": conf.report_interval,
                           "routers": tables}}
    if start_flag:
        state["start_flag"] = True
    return state


def notifier(conf: cfg.ConfigOpts, host: str) -> oslo_messaging.Notifier:
    """The l3.meter publisher (see the module's docstring for the driver)."""
    transport = oslo_messaging.get_notification_transport(conf)
    publisher_id = f"{metering.PUBLISHER}.{host}"
    if conf.oslo_messaging_notifications.driver:
        # The configured drivers (and topics), read by oslo.messaging itself.
        return oslo_messaging.Notifier(transport, publisher_id=publisher_id)
    driver = "log" if rpc_transport.is_in_process(conf) else "messagingv2"
    return oslo_messaging.Notifier(transport, publisher_id=publisher_id, driver=driver)


def tenants(state: MeteringState) -> dict[str, str | None]:
    """Each label's tenant_id in reports: the project of a router carrying it (the
    last one, by id, as upstream's agent overwrites)."""
    out: dict[str, str | None] = {}
    for router in state["routers"]:
        for label in router["labels"]:
            out[label["id"]] = router["project_id"]
    return out


class MeteringAgent:
    """The parts of the agent wired together; `start`/`stop` for tests and main."""

    def __init__(self, conf: cfg.ConfigOpts, transport: Any = None,
                 server: str | None = None, own_all_namespaces: bool = True,
                 publisher: oslo_messaging.Notifier | None = None) -> None:
        self.conf = conf
        self.host: str = conf.host
        self.transport = transport or rpc_transport.get_transport(conf)
        timeout = conf.rpc_response_timeout
        self.plugin = MeteringPluginApi(self.transport, self.host, timeout=timeout,
                                        server=server)
        self.reporter = StateReporter(self.transport, self.host, timeout=timeout,
                                      server=server)
        self.driver = MeterDriver(self.host, own_all_namespaces=own_all_namespaces)
        self.meter = Meter(conf.report_interval)
        self.publisher = publisher or notifier(conf, self.host)
        self.state: MeteringState | None = None
        self.last: Measurement | None = None
        self.reports = 0          # notifications sent (tests, logs)
        # Syncs and measurements both read counters: one at a time.
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._measurer: threading.Thread | None = None
        self.loop = service.agent_loop(conf, self.sync, self.report)
        # metering_agent: label/rule/router changes; any message means "look again".
        self.listener = NotificationListener(self.transport, self.host,
                                             self.loop.trigger, [metering.METERING_AGENT])

    def sync(self) -> None:
        state = self.plugin.get_sync_data_metering()
        with self._lock:
            self.state = state
            self._measure(state)
        if self.last is not None and self.last.failed:
            router, error = self.last.failed[0]
            raise RuntimeError(f"{len(self.last.failed)} router(s) failed, first: "
                               f"{router}: {error}")

    def _measure(self, state: MeteringState) -> None:
        """One reading (the lock held): tables ensured, counts added to the totals."""
        self.last = self.driver.measure(state)
        self.meter.add(self.last.counts, self.last.labels, int(time.time()))

    def tick(self) -> list[MeterReport]:
        """One measurement, and the reports when due (what the measuring thread
        runs every measure_interval)."""
        with self._lock:
            if self.state is None:
                return []
            self._measure(self.state)
            now = time.time()
            if not self.meter.due(now):
                return []
            reports = self.meter.report(int(now), self.host, tenants(self.state))
        for payload in reports:
            LOG.debug("metering report: %s", payload)
            self.publisher.info({}, metering.EVENT_TYPE, dict(payload))
            self.reports += 1
        return reports

    def _measure_loop(self) -> None:
        while not self._stop.wait(self.conf.measure_interval):
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - keep measuring: the next tick retries
                LOG.exception("metering measurement failed")

    def report(self, start_flag: bool) -> None:
        tables = self.last.tables if self.last is not None else 0
        self.reporter.report(agent_state(self.host, self.conf, tables, start_flag))

    def start(self) -> MeteringAgent:
        self.loop.start()
        self._measurer = threading.Thread(target=self._measure_loop, name="metering",
                                          daemon=True)
        self._measurer.start()
        service.start_listener(self.listener)
        return self

    def stop(self) -> None:
        """Stop the agent; the tables stay (a restarted agent adopts them)."""
        self._stop.set()
        self.loop.stop()
        self.listener.stop()
        if self._measurer is not None:
            self._measurer.join(10)


def check_config(conf: cfg.ConfigOpts) -> list[str]:
    return metering_config.check(conf)


def main(argv: list[str] | None = None) -> int:
    return service.main(
        argv, BINARY, metering_config.register_opts, check_config, MeteringAgent,
        lambda agent: (f"measure every {agent.conf.measure_interval:g} s, report every "
                       f"{agent.conf.report_interval:g} s"),
        needs_root_for="it adds nftables tables in the router namespaces")


if __name__ == "__main__":
    sys.exit(main())
