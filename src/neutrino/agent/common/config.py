"""Options every agent has: the bus and host (the server's own definitions, so one
neutron.conf-style file can serve both), logging, and ``[AGENT]``."""

from __future__ import annotations

from oslo_config import cfg

from neutrino import conf as server_conf
from neutrino.rpc import transport as rpc_transport

agent_opts = [
    # 0.5, not upstream's 2: a port plugged right after a sync (the usual case: its
    # creation notified the agent first) goes ACTIVE within a second (bench/dataplane.py).
    cfg.FloatOpt("polling_interval", default=0.5, min=0.1,
                 help="Seconds between two syncs: events (notifications, devices "
                      "appearing) arriving within it are handled by one sync; also "
                      "the first retry delay after a failed sync."),
    cfg.FloatOpt("report_interval", default=30, min=0,
                 help="Seconds between two state reports (heartbeats) to the server; "
                      "0 disables them. Keep it under half of the server's "
                      "agent_down_time."),
    cfg.FloatOpt("resync_interval", default=60, min=1,
                 help="Seconds between two full resyncs without any trigger: the "
                      "agent asks for its whole desired state anyway, which repairs "
                      "anything a lost notification or a broker outage left behind."),
]

# The server's own logging options (same objects: no duplicate registration).
LOG_OPTS = [opt for opt in server_conf.core_opts if opt.dest in ("log_file", "debug")]


def register_opts(conf: cfg.ConfigOpts) -> None:
    rpc_transport.register_opts(conf)
    conf.register_opts(LOG_OPTS)
    conf.register_opts(agent_opts, group="AGENT")


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    # agent_down_time is the server's (registered with the bus options, unused here).
    bus = [opt for opt in rpc_transport.list_opts() if opt.dest != "agent_down_time"]
    return [(None, LOG_OPTS + bus), ("AGENT", agent_opts)]
