"""The Linux bridge agent's reconciler: desired state in, kernel converged out.

`Reconciler.reconcile(desired)` observes the kernel, plans the difference
(`plan.py`, pure), applies it action by action and then reports device status
changes to the server. No state is kept between calls: a new Reconciler (an agent
restart) looks at the kernel afresh, so it converges without duplicates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from neutrino.agent.common import ip_batch
from neutrino.agent.common.device_reports import RefusalLog, report_device_list
from neutrino.agent.common.privileged import Kernel
from neutrino.agent.linuxbridge import plan as planning
from neutrino.agent.linuxbridge import trunk as trunking
from neutrino.agent.linuxbridge.plan import Action, Reports, Settings
from neutrino.contract.l2 import DeviceDetails, DeviceList, L2State

LOG = logging.getLogger(__name__)


@dataclass
class Result:
    """What one reconcile did."""

    actions: list[Action] = field(default_factory=list)
    failed: list[tuple[Action, str]] = field(default_factory=list)
    reports: Reports = field(default_factory=Reports)
    refused: dict[str, str] = field(default_factory=dict)
    devices: int = 0  # ports of this host whose tap is plugged
    # The links after the sync: a dump of 2,000 links costs seconds, so the agent's
    # next step (QoS on the taps) uses this one rather than asking again.
    links: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.actions)


def batch_runs(actions: list[Action]) -> list[list[Action]]:
    """The plan cut into runs to apply: each run of consecutive link changes that
    one ``ip`` batch can make (ip_batch.batchable) together, every other action
    alone. Order is kept, so a bridge is made before the taps put in it."""
    runs: list[list[Action]] = []
    for action in actions:
        fits = action.op == "set_link" and ip_batch.batchable(action.kwargs())
        if fits and runs and runs[-1][-1].op == "set_link" and ip_batch.batchable(
                runs[-1][-1].kwargs()):
            runs[-1].append(action)
        else:
            runs.append([action])
    return runs


class Reconciler:
    """Applies an "l2" desired state to one host (network namespace)."""

    def __init__(self, kernel: Kernel, settings: Settings,
                 device_up: Callable[[str], object] | None = None,
                 device_down: Callable[[str], object] | None = None,
                 device_details: Callable[[list[str]], list[DeviceDetails]] | None = None,
                 device_list: Callable[[list[str], list[str]], DeviceList] | None = None
                 ) -> None:
        """`device_details` (get_devices_details_list), when given, is asked before
        reporting devices up, as upstream's agents do: it makes the server retry a
        binding that failed (the port was bound before this agent reported), and a
        device it does not answer for (not bound here) is not reported up.
        `device_list(up, down)` (update_device_list), when given, reports a sync's
        devices in one call instead of `device_up` / `device_down` per device."""
        self.kernel = kernel
        self.settings = settings
        self.device_up = device_up
        self.device_down = device_down
        self.device_details = device_details
        self.device_list = device_list
        self._log_refusals = RefusalLog()

    def reconcile(self, desired: L2State) -> Result:
        want = planning.layout(desired, self.settings)
        self._log_refusals(want.refused)
        have = self.kernel.snapshot()
        result = Result(refused=dict(want.refused))
        if self.settings.trunk_supported:
            # Sub-ports' VLAN devices first: the plan below plugs them like taps.
            trunk_actions = trunking.plan_vlans(trunking.wanted(desired), have.links)
            self._apply(trunk_actions, result)
            if trunk_actions:
                have = self.kernel.snapshot()
        self._apply(planning.plan(want, have, self.settings.owner), result)
        links = self.kernel.links() if result.actions else have.links
        result.links = list(links)
        result.reports = planning.device_reports(desired, want, links)
        result.devices = sum(
            1 for tap in want.taps.values()
            if tap.bridge and links.get(tap.name) and links[tap.name].master == tap.bridge)
        self._report(result.reports)
        return result

    def _apply(self, actions: list[Action], result: Result) -> None:
        for run in batch_runs(actions):
            if len(run) > 1:
                self._apply_batch(run, result)
                continue
            action = run[0]
            try:
                getattr(self.kernel, action.op)(action.name, **action.kwargs())
            except Exception as error:  # noqa: BLE001 - one bad device must not stop the rest
                self._failed(action, str(error), result)
                continue
            LOG.info("%s", action)
            result.actions.append(action)

    def _apply_batch(self, run: list[Action], result: Result) -> None:
        """Consecutive link changes in one kernel call (Kernel.set_links), each
        still done, logged and failed on its own."""
        try:
            errors = self.kernel.set_links([(a.name, a.kwargs()) for a in run])
        except Exception as error:  # noqa: BLE001 - as if each had failed
            errors = [str(error)] * len(run)
        for action, why in zip(run, errors, strict=True):
            if why is not None:
                self._failed(action, why, result)
                continue
            LOG.info("%s", action)
            result.actions.append(action)

    @staticmethod
    def _failed(action: Action, error: str, result: Result) -> None:
        LOG.error("%s failed: %s", action, error)
        result.failed.append((action, error))

    def _report(self, reports: Reports) -> None:
        if reports.up and self.device_details is not None:
            try:
                details = self.device_details(list(reports.up))
            except Exception as error:  # noqa: BLE001 - next resync asks again
                LOG.warning("device details for %s failed: %s", reports.up, error)
                details = []
            # port_id is only in the details of a port bound here.
            bound = {d["device"] for d in details if d.get("port_id")}
            for device in reports.up:
                if device not in bound:
                    LOG.info("%s is plugged but its port is not bound here (yet)", device)
            reports.up = [d for d in reports.up if d in bound]
        if self.device_list is not None:
            self._report_list(reports)
            return
        for device, send in ([(d, self.device_up) for d in reports.up]
                             + [(d, self.device_down) for d in reports.down]):
            if send is None:
                continue
            try:
                send(device)
            except Exception as error:  # noqa: BLE001 - next resync reports again
                LOG.warning("reporting %s failed: %s", device, error)

    def _report_list(self, reports: Reports) -> None:
        if self.device_list is not None:
            report_device_list(self.device_list, reports.up, reports.down)
