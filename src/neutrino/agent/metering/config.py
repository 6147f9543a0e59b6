"""The metering agent's options (upstream's names, metering_agent.ini), and the
oslo.messaging notification options its ``l3.meter`` reports go out with."""

from __future__ import annotations

from oslo_config import cfg
from oslo_messaging import opts as messaging_opts

from neutrino.agent.common import config as agent_config

NFTABLES = "nftables"
# Upstream's driver paths, accepted as names of the same thing (counters in the
# router namespaces); this agent counts with nftables whichever is given.
UPSTREAM_DRIVERS = (
    "neutron.services.metering.drivers.iptables.iptables_driver.IptablesMeteringDriver",
    "iptables")
NOTIFICATIONS = "oslo_messaging_notifications"

metering_opts = [
    cfg.StrOpt("driver", default=NFTABLES,
               help="How traffic is counted: 'nftables' (a table with one counter "
                    "per label in each router namespace). Upstream's iptables "
                    "driver path is accepted as the same."),
    cfg.IntOpt("measure_interval", default=30, min=1, mutable=True,
               help="Seconds between two readings of the counters."),
    cfg.IntOpt("report_interval", default=300, min=1,
               help="Seconds between two l3.meter notifications per label."),
    cfg.BoolOpt("granular_traffic_data", default=False,
                help="Upstream's per router/project/label reports. Not supported: "
                     "the agent refuses to start with it."),
]


def _notification_opts() -> list[cfg.Opt]:
    for group, opts in messaging_opts.list_opts():
        if group == NOTIFICATIONS:
            return list(opts)
    return []


def register_opts(conf: cfg.ConfigOpts) -> None:
    agent_config.register_opts(conf)
    conf.register_opts(metering_opts)
    # The same Opt objects oslo.messaging registers itself (no duplicate error).
    conf.register_opts(_notification_opts(), group=NOTIFICATIONS)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return agent_config.list_opts_with(metering_opts, None,
                                       (NOTIFICATIONS, _notification_opts()))


def check(conf: cfg.ConfigOpts) -> list[str]:
    problems = []
    if conf.driver not in (NFTABLES, *UPSTREAM_DRIVERS):
        problems.append(f"driver {conf.driver!r} is not supported: use '{NFTABLES}'")
    if conf.granular_traffic_data:
        problems.append("granular_traffic_data is not supported")
    return problems
