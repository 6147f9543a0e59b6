"""The L2 agents' reports after a sync (agent/common/device_reports.py): one call for
every device up and down, nothing sent when nothing changed, a failed call or device
only logged (the next sync reports again); a refused network logged once per reason."""

from __future__ import annotations

import logging

import pytest

from neutrino.agent.common.device_reports import RefusalLog, report_device_list


def test_one_call_for_up_and_down_and_none_when_nothing_changed() -> None:
    calls: list[tuple[list[str], list[str]]] = []

    def device_list(up: list[str], down: list[str]) -> dict:
        calls.append((up, down))
        return {"devices_up": up, "devices_down": down, "failed_devices_up": [],
                "failed_devices_down": []}

    report_device_list(device_list, ["tap1", "tap2"], ["tap3"])
    report_device_list(device_list, [], [])
    assert calls == [(["tap1", "tap2"], ["tap3"])]


def test_failures_are_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def refused(up: list[str], down: list[str]) -> dict:
        return {"devices_up": [], "devices_down": [], "failed_devices_up": up,
                "failed_devices_down": []}

    def broken(up: list[str], down: list[str]) -> dict:
        raise TimeoutError("no answer")

    with caplog.at_level(logging.WARNING):
        report_device_list(refused, ["tap1"], [])
        report_device_list(broken, [], ["tap2"])
    assert "could not set the status of tap1" in caplog.text
    assert "0 device(s) up and 1 down failed: no answer" in caplog.text


def test_a_refused_network_is_logged_once_per_reason(
        caplog: pytest.LogCaptureFixture) -> None:
    log = RefusalLog()
    with caplog.at_level(logging.WARNING):
        log({"net1": "no mapping for physnet1"})
        log({"net1": "no mapping for physnet1"})
        log({"net1": "VLAN networks need 8021q"})
        log({})
        log({"net1": "VLAN networks need 8021q"})
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["network net1 not realised on this host: no mapping for physnet1",
                     "network net1 not realised on this host: VLAN networks need 8021q",
                     "network net1 not realised on this host: VLAN networks need 8021q"]
