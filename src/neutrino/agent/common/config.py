"""Options every agent has: the bus and host (the server's own definitions, so one
neutron.conf-style file can serve both), logging, and ``[AGENT]``."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from oslo_config import cfg

from neutrino import log
from neutrino.agent.common import privileged
from neutrino.contract import bus, options

LOG = logging.getLogger(__name__)

agent_opts: list[cfg.Opt] = [
    # 0.5, not upstream's 2: a port plugged right after a sync (the usual case: its
    # creation notified the agent first) goes ACTIVE within a second (bench/dataplane.py).
    cfg.FloatOpt("polling_interval", default=0.5, min=0.1, mutable=True,
                 help="Seconds between two syncs: events (notifications, devices "
                      "appearing) arriving within it are handled by one sync; also "
                      "the first retry delay after a failed sync."),
    cfg.FloatOpt("report_interval", default=30, min=0,
                 help="Seconds between two state reports (heartbeats) to the server; "
                      "0 disables them. Keep it under half of the server's "
                      "agent_down_time."),
    cfg.FloatOpt("resync_interval", default=60, min=1, mutable=True,
                 help="Seconds between two full resyncs without any trigger: the "
                      "agent asks for its whole desired state anyway, which repairs "
                      "anything a lost notification or a broker outage left behind."),
    # Prometheus text (issue 15; agent/common/metrics.py). Off by default: a port
    # per agent on a host is the operator's choice.
    cfg.PortOpt("metrics_port", default=0,
                help="TCP port of the agent's Prometheus metrics (/metrics); 0: not "
                     "served. Give each agent on a host its own."),
    cfg.HostAddressOpt("metrics_host", default="127.0.0.1",
                       help="Address the agent's metrics listener binds to."),
]

# The server's own logging options (same objects: no duplicate registration).
LOG_OPTS = list(options.LOG_OPTS)


def register_opts(conf: cfg.ConfigOpts) -> None:
    bus.register_opts(conf)
    conf.register_opts(LOG_OPTS)
    conf.register_opts(agent_opts, group="AGENT")


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    # agent_down_time is the server's (registered with the bus options, unused here).
    bus_opts = [opt for opt in bus.list_opts() if opt.dest != "agent_down_time"]
    return [(None, LOG_OPTS + bus_opts), ("AGENT", agent_opts)]


def list_opts_with(default: list[cfg.Opt], agent: list[cfg.Opt] | None = None,
                   *groups: tuple[str, list[cfg.Opt]]
                   ) -> list[tuple[str | None, list[cfg.Opt]]]:
    """An agent's sample sections: the common [DEFAULT] and [AGENT] options followed
    by its own, then its other groups."""
    common = dict(list_opts())
    return [(None, [*common[None], *default]), ("AGENT", [*common["AGENT"], *(agent or [])]),
            *groups]


def load_binary_config(argv: list[str] | None, binary: str,
                       register: Callable[[cfg.ConfigOpts], None],
                       check: Callable[[cfg.ConfigOpts], list[str]],
                       needs_root_for: str | None) -> cfg.ConfigOpts | None:
    """An agent binary's configuration: command line and files parsed, logging set
    up; None, after logging why, when the agent must not start (not root while
    `needs_root_for` says why it must be, or `check` found problems)."""
    conf = cfg.ConfigOpts()
    register(conf)
    conf(args=list(sys.argv[1:] if argv is None else argv), project="neutrino",
         prog=binary)
    log.setup(conf)
    if needs_root_for is not None and not privileged.is_root():
        LOG.error("%s must run as root (%s)", binary, needs_root_for)
        return None
    problems = check(conf)
    for problem in problems:
        LOG.error("%s", problem)
    return None if problems else conf


def parse_mappings(entries: list[str], target: str) -> dict[str, str]:
    """"physnet:<target>" pairs (an interface, a bridge) -> {physnet: target};
    ValueError on a malformed or repeated one."""
    out: dict[str, str] = {}
    for entry in entries:
        physnet, sep, value = entry.strip().partition(":")
        physnet, value = physnet.strip(), value.strip()
        if not sep or not physnet or not value:
            raise ValueError(f"invalid mapping {entry!r}: expected "
                             f"<physical_network>:<{target}>")
        if physnet in out:
            raise ValueError(f"physical network {physnet} mapped twice")
        if value in out.values():
            raise ValueError(f"{target} {value} mapped to two physical networks")
        out[physnet] = value
    return out
