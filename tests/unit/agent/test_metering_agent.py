"""The metering agent's configuration, state report and notification publisher
(no kernel, no broker: the in-process bus)."""

from __future__ import annotations

from oslo_config import cfg

from neutrino.agent.metering import config as metering_config
from neutrino.agent.metering.agent import MeteringAgent, agent_state, notifier, tenants


def _conf(**overrides: object) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    metering_config.register_opts(conf)
    conf(args=[])
    conf.set_override("host", "h1")
    for key, value in overrides.items():
        group, _, name = key.rpartition(".")
        conf.set_override(name, value, group=group or None)
    return conf


def test_defaults_and_checks() -> None:
    conf = _conf()
    assert (conf.measure_interval, conf.report_interval, conf.driver) == (30, 300,
                                                                          "nftables")
    assert metering_config.check(conf) == []
    upstream = ("neutron.services.metering.drivers.iptables.iptables_driver."
                "IptablesMeteringDriver")
    assert metering_config.check(_conf(driver=upstream)) == []
    assert metering_config.check(_conf(driver="noop")) == [
        "driver 'noop' is not supported: use 'nftables'"]
    assert metering_config.check(_conf(granular_traffic_data=True)) == [
        "granular_traffic_data is not supported"]


def test_state_report_is_upstreams() -> None:
    state = agent_state("h1", _conf(), tables=2, start_flag=True)
    assert state == {"agent_type": "Metering agent", "binary": "neutrino-metering-agent",
                     "topic": "metering_agent", "host": "h1", "start_flag": True,
                     "configurations": {"metering_driver": "nftables",
                                        "measure_interval": 30, "report_interval": 300,
                                        "routers": 2}}
    assert "start_flag" not in agent_state("h1", _conf(), 0, start_flag=False)


def test_publisher_follows_the_bus_unless_configured() -> None:
    # In-process bus: nothing could consume them, so they are logged.
    assert notifier(_conf(), "h1")._driver_names == ["log"]
    assert notifier(_conf(), "h1").publisher_id == "metering.h1"
    rabbit = _conf(transport_url="rabbit://u:p@127.0.0.1:5672/")
    assert notifier(rabbit, "h1")._driver_names == ["messagingv2"]
    configured = _conf(**{"oslo_messaging_notifications.driver": ["noop"]})
    assert notifier(configured, "h1")._driver_names == ["noop"]


def test_tick_before_any_sync_measures_nothing() -> None:
    agent = MeteringAgent(_conf())
    assert agent.tick() == [] and agent.reports == 0


def test_label_tenants_are_their_routers_projects() -> None:
    label = {"id": "L", "name": "", "shared": True, "project_id": "admin", "rules": []}
    state = {"host": "h1", "routers": [
        {"id": "r1", "name": "", "project_id": "p1", "admin_state_up": True,
         "gateway_device": "qg-x", "labels": [label]},
        {"id": "r2", "name": "", "project_id": "p2", "admin_state_up": True,
         "gateway_device": "qg-y", "labels": [label]}]}
    assert tenants(state) == {"L": "p2"}  # type: ignore[arg-type]
