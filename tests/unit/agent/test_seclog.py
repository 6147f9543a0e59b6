"""Security group logging on the agent (agent/firewall/seclog.py, pure): the NFLOG
prefix, the log rule's text, the table from prefix to lines and the lines of a
logged packet; the output file (log_reader.LogOutput) and the [network_log]
options."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from oslo_config import cfg

from neutrino.agent.firewall import nflog, seclog
from neutrino.agent.firewall.log_reader import LogOutput
from neutrino.agent.firewall.seclog import LogSettings, Target
from unit.agent.test_nflog import ICMP_ECHO

PORT = "aaaaaaaa-1111-2222-3333-444444444444"
OTHER = "bbbbbbbb-1111-2222-3333-444444444444"
L1, L2, L3 = (f"{c * 8}-0000-4000-8000-000000000000" for c in "123")


def port(port_id: str, *logs: tuple[str, str, str]) -> dict:
    return {"id": port_id, "logs": [{"id": i, "project_id": p, "event": e}
                                    for i, p, e in logs]}


def test_prefix_names_action_and_port_without_quoting() -> None:
    assert seclog.prefix("DROP", PORT) == f"DROP-{PORT}"
    assert seclog.prefix("ACCEPT", PORT) == f"ACCEPT-{PORT}"
    # Characters iptables-save would quote are left out; never over 63 bytes.
    assert seclog.prefix("DROP", 'a b"c:d') == "DROP-abcd"
    assert len(seclog.prefix("ACCEPT", "x" * 80)) == 63


@given(st.integers(100, 10000))
def test_limit_text_is_stable_through_the_kernel(rate: int) -> None:
    """What iptables-save prints back parses to the same kernel value (10000 /
    rate in whole numbers), so a rendered rule compares equal to the saved one."""
    text = seclog.limit_text(rate)
    shown = int(text.removesuffix("/sec"))
    assert 10000 // shown == 10000 // rate
    assert seclog.limit_text(shown) == text
    assert shown >= rate


def test_log_rule_text() -> None:
    assert seclog.log_rule(LogSettings(), "DROP", PORT) == (
        f"-m limit --limit 100/sec --limit-burst 25 -j NFLOG --nflog-prefix DROP-{PORT}"
        f" --nflog-group {seclog.NFLOG_GROUP}")
    assert seclog.log_rule(LogSettings(1000, 5, 9), "ACCEPT", PORT, "-p tcp") == (
        f"-p tcp -m limit --limit 1000/sec -j NFLOG --nflog-prefix ACCEPT-{PORT} "
        "--nflog-group 9")


def test_log_ids_by_action() -> None:
    p = port(PORT, (L1, "p", "ALL"), (L2, "p", "DROP"), (L3, "p", "ACCEPT"))
    assert seclog.log_ids(p, "DROP") == [L1, L2]
    assert seclog.log_ids(p, "ACCEPT") == [L1, L3]
    assert seclog.log_ids({"id": PORT}, "DROP") == []  # a server before logging


def test_targets_and_lines() -> None:
    desired = {"ports": [port(PORT, (L2, "p1", "DROP"), (L1, "p1", "ALL"),
                              (L3, "p2", "DROP")),
                         port(OTHER), {"id": "no-logs-key"}]}
    table = seclog.targets(desired)
    assert table == {
        f"DROP-{PORT}": [Target("DROP", "p1", (L1, L2), PORT),
                         Target("DROP", "p2", (L3,), PORT)],
        f"ACCEPT-{PORT}": [Target("ACCEPT", "p1", (L1,), PORT)]}
    packet = nflog.Packet(group=seclog.NFLOG_GROUP, prefix=f"DROP-{PORT}", indev=3,
                          outdev=4, hw_protocol=0x800, payload=ICMP_ECHO)
    assert seclog.lines(packet, table) == [
        f"action=DROP, project_id=p1, log_resource_ids=['{L1}', '{L2}'], port={PORT}, "
        "pkt=ipv4 src=10.0.0.1 dst=10.0.0.2 proto=icmp type=8 code=0 length=84",
        f"action=DROP, project_id=p2, log_resource_ids=['{L3}'], port={PORT}, "
        "pkt=ipv4 src=10.0.0.1 dst=10.0.0.2 proto=icmp type=8 code=0 length=84"]
    # A prefix no port of the table has (a log just removed, another user of the
    # group): no line.
    stale = nflog.Packet(seclog.NFLOG_GROUP, f"ACCEPT-{OTHER}", None, None, None, b"")
    assert seclog.lines(stale, table) == []


def test_output_file_has_timestamped_lines(tmp_path: Path) -> None:
    path = tmp_path / "sg.log"
    out = LogOutput(str(path))
    out.write("action=DROP, project_id=p")
    out.close()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d action=DROP, project_id=p\n",
                        path.read_text())


def test_output_without_a_file_goes_to_the_agents_log(caplog: pytest.LogCaptureFixture
                                                      ) -> None:
    out = LogOutput(None)
    with caplog.at_level("INFO", logger="neutrino.security_group_log"):
        out.write("action=ACCEPT, x")
    assert [r.getMessage() for r in caplog.records] == ["action=ACCEPT, x"]


def test_network_log_options() -> None:
    from neutrino.agent.firewall import config as fw_config
    from neutrino.agent.linuxbridge import config as lb_config

    conf = cfg.ConfigOpts()
    lb_config.register_opts(conf)
    conf(args=[])
    assert fw_config.log_settings(conf) == LogSettings(100, 25, seclog.NFLOG_GROUP)
    assert conf.network_log.local_output_log_base is None
    conf.set_override("rate_limit", 2000, group="network_log")
    firewall = fw_config.firewall(conf)
    assert firewall is not None and firewall.log_settings == LogSettings(2000, 25)
    with pytest.raises(ValueError):  # upstream's minimum
        conf.set_override("rate_limit", 10, group="network_log")
    conf.set_override("local_output_log_base", "/no/such/dir/sg.log",
                      group="network_log")
    assert any("local_output_log_base = /no/such/dir/sg.log" in problem
               for problem in fw_config.check(conf))
