"""The Linux bridge agent refuses a configuration it cannot honour, saying why."""

from __future__ import annotations

from oslo_config import cfg

from neutrino.agent.linuxbridge import config as lb_config
from neutrino.agent.linuxbridge.agent import check_config


def conf_with(**groups: dict[str, object]) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    lb_config.register_opts(conf)
    conf(args=[])
    for group, values in groups.items():
        for name, value in values.items():
            conf.set_override(name, value, group=group)
    return conf


def test_upstream_defaults_and_names() -> None:
    conf = conf_with()
    assert conf.AGENT.report_interval == 30 and conf.AGENT.polling_interval == 0.5
    assert conf.vxlan.enable_vxlan is True and conf.vxlan.local_ip is None
    assert conf.linux_bridge.physical_interface_mappings == []


def test_vxlan_without_local_ip_is_refused() -> None:
    problems = check_config(conf_with())
    assert any("local_ip" in p for p in problems)
    assert check_config(conf_with(vxlan={"enable_vxlan": False})) == []
    assert check_config(conf_with(vxlan={"local_ip": "192.0.2.1"})) == []


def test_mappings_must_be_well_formed_and_exist() -> None:
    bad = conf_with(vxlan={"enable_vxlan": False},
                    linux_bridge={"physical_interface_mappings": ["physnet1"]})
    assert "physical_interface_mappings" in check_config(bad)[0]
    missing = conf_with(vxlan={"enable_vxlan": False},
                        linux_bridge={"physical_interface_mappings": ["p:nosuchif0"]})
    assert "nosuchif0" in check_config(missing)[0]
    present = conf_with(vxlan={"enable_vxlan": False},
                        linux_bridge={"physical_interface_mappings": ["p:lo"]})
    assert check_config(present) == []


def test_bridge_mappings_are_refused() -> None:
    conf = conf_with(vxlan={"enable_vxlan": False},
                     linux_bridge={"bridge_mappings": ["physnet1:br-ex"]})
    assert any("bridge_mappings" in p for p in check_config(conf))
