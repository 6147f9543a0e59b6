"""The message bus as both sides build it (oslo.messaging).

Options: oslo.messaging's own ``[DEFAULT]`` ones (``transport_url``,
``rpc_response_timeout``, ``control_exchange``, ...) registered on our ConfigOpts with
``transport_url`` defaulting to ``fake://`` (the in-process bus: it reaches only its
own process, enough for the all-in-one with api_workers = 1); ``host``; and
``agent_down_time`` (the server's, registered with the rest so one file serves both).

`StateReporter` is an agent's heartbeat client (``report_state``, contract/agent_state.py).
"""

from __future__ import annotations

import copy
import datetime as dt
import socket
import warnings
from typing import Any

from oslo_config import cfg

# oslo.messaging still imports its (deprecated) eventlet support; the warnings it
# prints on import say nothing about Neutrino, which uses threads.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import oslo_messaging
    from oslo_messaging import opts as messaging_opts

from neutrino.contract import topics
from neutrino.contract.agent_state import AgentState, ReportAnswer

DEFAULT_TRANSPORT_URL = "fake://"

agent_opts = [
    cfg.StrOpt("host", default=socket.gethostname(), sample_default="example.domain",
               help="Name of this node: the API process's RPC server name (its own "
                    "queue <topic>.<host>) and the host the agents here report."),
    cfg.IntOpt("agent_down_time", default=75, min=1,
               help="Seconds after an agent's last state report when it counts as "
                    "down (alive false in /v2.0/agents). At least twice the agents' "
                    "report_interval."),
]


def _messaging_default_opts() -> list[cfg.Opt]:
    for group, opts in messaging_opts.list_opts():
        if group in (None, "DEFAULT"):
            return list(opts)
    return []


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(agent_opts)
    # The same Opt objects oslo.messaging registers itself, so no duplicate error.
    conf.register_opts(_messaging_default_opts())
    conf.set_default("transport_url", DEFAULT_TRANSPORT_URL)
    _register_tracing_opts(conf)


def _register_tracing_opts(conf: cfg.ConfigOpts) -> None:
    """oslo.messaging's RPC client reads [oslo_messaging_tracing] and
    [oslo_messaging_metrics] but registers them only on the global cfg.CONF;
    register them on ours too (left at their defaults: off)."""
    try:
        from oslo_messaging._metrics import client as metrics
        from oslo_messaging._tracing import client as tracing
    except ImportError:  # an oslo.messaging without them
        return
    conf.register_opts(tracing.oslo_messaging_tracing, group="oslo_messaging_tracing")
    conf.register_opts(metrics.oslo_messaging_metrics, group="oslo_messaging_metrics")


def list_opts() -> list[cfg.Opt]:
    """Options for the sample config (transport_url shown with our default)."""
    out: list[cfg.Opt] = list(agent_opts)
    for opt in _messaging_default_opts():
        if opt.dest == "transport_url":
            opt = copy.copy(opt)
            opt.sample_default = DEFAULT_TRANSPORT_URL
            opt.help = ("The message bus: fake:// (in-process, this process only: "
                        "api_workers = 1 with agents in the server process) or "
                        "rabbit://user:password@host:5672/ (several workers or hosts).")
        out.append(opt)
    return out


def get_transport(conf: cfg.ConfigOpts, url: str | None = None
                  ) -> oslo_messaging.Transport:
    """The RPC transport for ``url`` (default: the configured transport_url)."""
    return oslo_messaging.get_rpc_transport(conf, url=url)


def is_in_process(conf: cfg.ConfigOpts) -> bool:
    return str(conf.transport_url or "").startswith("fake:")


class StateReporter:
    """Sends an agent's state report (heartbeat) on q-reports-plugin.

    ``state`` holds agent_type, binary, topic, host (default: the reporter's),
    configurations, availability_zone, start_flag (true in the first report after the
    agent started) and optionally load. `report` waits for the server's answer
    ("new", "alive" or "revived"), so a broker or server outage raises
    oslo_messaging.MessagingTimeout; `report_async` (a cast) does not wait.
    """

    def __init__(self, transport: oslo_messaging.Transport, host: str,
                 timeout: float | None = None, server: str | None = None) -> None:
        self.host = host
        target = oslo_messaging.Target(topic=topics.REPORTS, version="1.0")
        client = oslo_messaging.get_rpc_client(transport, target, timeout=timeout)
        # Any server by default; `server` (a server's `host`) sends to that one only.
        # (oslo.messaging is untyped: its clients are Any.)
        self.client: Any = client.prepare(server=server) if server else client

    def _kwargs(self, state: AgentState) -> dict[str, Any]:
        full = AgentState(**state)  # a copy: the caller's dict is left as it was
        full.setdefault("host", self.host)
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat()
        return {"agent_state": {"agent_state": full}, "time": now}

    def report(self, state: AgentState) -> ReportAnswer:
        answer: ReportAnswer = self.client.call({}, "report_state", **self._kwargs(state))
        return answer

    def report_async(self, state: AgentState) -> None:
        self.client.cast({}, "report_state", **self._kwargs(state))
