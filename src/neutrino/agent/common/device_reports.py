"""What the L2 agents (Linux bridge, Open vSwitch) tell the server after a sync:
devices up and down in one ``update_device_list`` call, and the networks they cannot
realise on this host, logged once per reason rather than at every sync."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from neutrino.contract.l2 import DeviceList

LOG = logging.getLogger(__name__)

DeviceListCall = Callable[[list[str], list[str]], DeviceList]


def report_device_list(device_list: DeviceListCall, up: Sequence[str],
                       down: Sequence[str]) -> None:
    """One call for the sync's devices; a failure is logged and the next sync
    reports them again (the server's view is compared each time)."""
    if not (up or down):
        return
    try:
        answer = device_list(list(up), list(down))
    except Exception as error:  # noqa: BLE001 - next resync reports again
        LOG.warning("reporting %d device(s) up and %d down failed: %s",
                    len(up), len(down), error)
        return
    failed = answer.get("failed_devices_up", []) + answer.get("failed_devices_down", [])
    if failed:
        LOG.warning("the server could not set the status of %s (reported again at "
                    "the next sync)", ", ".join(failed))


class RefusalLog:
    """Logs a network this host cannot realise when its reason is new."""

    def __init__(self) -> None:
        self._logged: dict[str, str] = {}

    def __call__(self, refused: dict[str, str]) -> None:
        for net_id, why in refused.items():
            if self._logged.get(net_id) != why:
                LOG.warning("network %s not realised on this host: %s", net_id, why)
        self._logged = dict(refused)
