"""The load balancer agent's options (lbaas_agent.ini)."""

from __future__ import annotations

import os
import shutil

from oslo_config import cfg

from neutrino.agent.common import config as agent_config
from neutrino.contract import options

lbaas_opts = [
    options.STATE_PATH,
    cfg.StrOpt("loadbalancer_state_path", default="$state_path/lbaas",
               help="Where each load balancer's HAProxy configuration, pid file and "
                    "stats socket live (one directory per load balancer)."),
    cfg.StrOpt("haproxy_path", default="haproxy",
               help="The HAProxy binary."),
    cfg.FloatOpt("health_interval", default=1.0, min=0.2,
                 help="Seconds between two readings of the members' health from "
                      "HAProxy's stats sockets (changes are reported to the server)."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    agent_config.register_opts(conf)
    conf.register_opts(lbaas_opts)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    common = agent_config.list_opts()
    default = [opts for group, opts in common if group is None][0]
    agent = [opts for group, opts in common if group == "AGENT"][0]
    return [(None, [*default, *lbaas_opts]), ("AGENT", agent)]


def state_root(conf: cfg.ConfigOpts) -> str:
    return os.path.abspath(str(conf.loadbalancer_state_path))


def check(conf: cfg.ConfigOpts) -> list[str]:
    if shutil.which(conf.haproxy_path) is None:
        return [f"{conf.haproxy_path} not found: install HAProxy (Debian: haproxy)"]
    return []
