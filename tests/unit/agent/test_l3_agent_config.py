"""The L3 agent's options, start checks and state report (upstream's names), and
etc/l3_agent.ini as oslo-config-generator makes it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from oslo_config import cfg

from neutrino.agent.l3 import config as l3_config
from neutrino.agent.l3.agent import agent_state, check_config
from neutrino.agent.l3.reconciler import Result

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "etc" / "l3_agent.ini"
GENERATOR_CONF = REPO / "etc" / "oslo-config-generator-l3-agent.conf"


def conf(**overrides: object) -> cfg.ConfigOpts:
    c = cfg.ConfigOpts()
    l3_config.register_opts(c)
    c(args=[])
    for key, value in overrides.items():
        group, _, name = key.rpartition(".")
        c.set_override(name, value, group=group or None)
    return c


def test_defaults_are_upstreams() -> None:
    c = conf()
    assert c.agent_mode == "legacy"
    assert c.handle_internal_only_routers is True
    assert c.enable_metadata_proxy is True
    assert c.metadata_port == 9697
    assert c.send_arp_for_ha == 3
    assert c.AGENT.availability_zone == "nova"
    settings = l3_config.settings(c)
    assert settings.nat.enable_metadata_proxy and settings.nat.metadata_port == 9697


def test_state_report_has_upstreams_configurations() -> None:
    counts = Result(routers=2, ex_gw_ports=1, interfaces=3, floating_ips=4)
    state = agent_state("net-1", conf(**{"AGENT.availability_zone": "az2"}), counts,
                        start_flag=True)
    assert state == {
        "agent_type": "L3 agent", "binary": "neutrino-l3-agent", "topic": "l3_agent",
        "host": "net-1", "availability_zone": "az2", "start_flag": True,
        "configurations": {
            "agent_mode": "legacy", "handle_internal_only_routers": True,
            "interface_driver": "linuxbridge", "log_agent_heartbeats": False,
            "extensions": [], "routers": 2, "ex_gw_ports": 1, "interfaces": 3,
            "floating_ips": 4}}
    later = agent_state("net-1", conf(), None, start_flag=False)
    assert "start_flag" not in later
    assert later["configurations"]["routers"] == 0


def test_start_checks() -> None:
    assert check_config(conf()) == []
    upstream_driver = "neutron.agent.linux.interface.BridgeInterfaceDriver"
    assert check_config(conf(interface_driver=upstream_driver)) == []
    assert check_config(conf(agent_mode="dvr_snat")) == [
        "agent_mode 'dvr_snat' is not supported: use 'legacy' (no distributed routers)"]
    assert check_config(conf(interface_driver="bogus")) == [
        "interface_driver 'bogus' is not supported: use 'linuxbridge' or 'openvswitch'"]


def test_openvswitch_interface_driver() -> None:
    """Upstream's OVSInterfaceDriver (or 'openvswitch'): router taps go into [ovs]
    integration_bridge of [ovs] ovsdb_connection (the DHCP agent's options)."""
    for name in ("openvswitch", "neutron.agent.linux.interface.OVSInterfaceDriver"):
        c = conf(interface_driver=name, **{"ovs.integration_bridge": "br-x",
                                            "ovs.ovsdb_connection": "unix:/r/db.sock"})
        assert check_config(c) == []
        assert l3_config.ovs_target(c) == ("unix:/r/db.sock", "br-x")
    assert l3_config.ovs_target(conf()) is None
    from neutrino.agent.dhcp import config as dhcp_config
    assert dhcp_config.ovs_opts is l3_config.interface.ovs_opts


def test_l3_agent_sample_is_up_to_date(tmp_path: Path) -> None:
    out = tmp_path / "l3_agent.ini"
    proc = subprocess.run(
        [sys.executable, "-c",
         "import sys; from oslo_config.generator import main; sys.exit(main())",
         "--config-file", str(GENERATOR_CONF), "--output-file", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == SAMPLE.read_text(), (
        "etc/l3_agent.ini is out of date: run `make sample-config`")
    text = SAMPLE.read_text()
    for section, option in ((None, "agent_mode"), (None, "handle_internal_only_routers"),
                            (None, "enable_metadata_proxy"), (None, "metadata_port"),
                            ("agent", "availability_zone"), ("agent", "report_interval")):
        assert f"#{option} =" in text and (section is None or f"[{section}]" in text)
