"""The Open vSwitch agent's reconciler: desired state in, switch converged out.

`Reconciler.reconcile(desired)`: observe OVSDB, plan (plan.py, pure), apply the
OVSDB changes in one transaction, read the ofports back, sync each bridge's flows
of this agent's cookie (one ovs-ofctl bundle per bridge that differs), let the
firewall apply, then report device status changes to the server. Nothing is kept
between calls: a restarted agent finds its local VLANs on br-int's ports and its
flows by cookie, so it changes nothing that is right (no flow flush, no traffic
loss for unchanged ports).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from neutrino.agent.common.device_reports import RefusalLog, report_device_list
from neutrino.agent.ovs import plan as planning
from neutrino.agent.ovs import trunk
from neutrino.agent.ovs.firewall_hook import FirewallInput, FirewallPort, NoopFirewall, OvsFirewall
from neutrino.agent.ovs.plan import Action, Reports, Settings
from neutrino.agent.ovs.privileged import OpenFlow, Ovsdb
from neutrino.contract.l2 import DeviceDetails, DeviceList, L2State

LOG = logging.getLogger(__name__)


@dataclass
class Result:
    actions: list[Action] = field(default_factory=list)
    flow_changes: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    reports: Reports = field(default_factory=Reports)
    refused: dict[str, str] = field(default_factory=dict)
    devices: int = 0
    local_vlans: dict[str, int] = field(default_factory=dict)


class Reconciler:
    def __init__(self, ovsdb: Ovsdb, openflow: OpenFlow, settings: Settings,
                 firewall: OvsFirewall | None = None,
                 device_details: Callable[[list[str]], list[DeviceDetails]] | None = None,
                 device_list: Callable[[list[str], list[str]], DeviceList] | None = None
                 ) -> None:
        self.ovsdb = ovsdb
        self.openflow = openflow
        self.settings = settings
        self.firewall: OvsFirewall = firewall or NoopFirewall()
        self.device_details = device_details
        self.device_list = device_list
        self._log_refusals = RefusalLog()

    def reconcile(self, desired: L2State) -> Result:
        have = self.ovsdb.observe()
        want = planning.layout(desired, self.settings, have)
        self._log_refusals(want.refused)
        result = Result(refused=dict(want.refused),
                        local_vlans={n.id: n.local_vlan for n in want.networks.values()})
        actions = trunk.merge(planning.ovsdb_actions(want, have, self.settings),
                              trunk.ovsdb_actions(trunk.wanted(desired, want, have,
                                                               self.settings),
                                                  have, self.settings))
        if actions:
            try:
                self.ovsdb.apply((a.op, a.name, a.kwargs()) for a in actions)
            except Exception as error:  # noqa: BLE001 - reported, retried next sync
                LOG.error("OVSDB transaction of %d change(s) failed: %s", len(actions),
                          error)
                result.failed.append(("ovsdb", str(error)))
            else:
                for action in actions:
                    LOG.info("%s", action)
                result.actions = actions
            # New bridges and ports get their ofports from ovs-vswitchd.
            have = self.ovsdb.observe()
            want = planning.layout(desired, self.settings, have)
        for bridge, bridge_flows in sorted(planning.flows(want, have, self.settings).items()):
            if bridge not in have.bridges:
                continue
            try:
                result.flow_changes += self.openflow.sync(bridge, bridge_flows,
                                                          self.settings.cookie)
            except Exception as error:  # noqa: BLE001 - one bridge must not stop the rest
                LOG.error("flows of %s: %s", bridge, error)
                result.failed.append((f"flows {bridge}", str(error)))
        if self.settings.firewall:
            by_id = {p["id"]: p for p in desired["ports"]}
            ports = [FirewallPort(by_id[vm.port_id], vm.ofport, vm.tag,
                                  self.settings.integration_bridge)
                     for vm in want.vm_ports.values()
                     if vm.network_id is not None and vm.ofport > 0 and vm.port_id in by_id]
            self.firewall.apply(FirewallInput(desired, ports))
        if result.flow_changes:
            LOG.info("%d flow change(s)", result.flow_changes)
        result.reports = planning.device_reports(desired, want)
        result.devices = sum(1 for vm in want.vm_ports.values()
                             if vm.network_id is not None and vm.ofport > 0)
        self._report(result.reports)
        return result

    def _report(self, reports: Reports) -> None:
        if reports.up and self.device_details is not None:
            try:
                details = self.device_details(list(reports.up))
            except Exception as error:  # noqa: BLE001 - next resync asks again
                LOG.warning("device details for %s failed: %s", reports.up, error)
                details = []
            bound = {d["device"] for d in details if d.get("port_id")}
            reports.up = [d for d in reports.up if d in bound]
        if self.device_list is not None:
            report_device_list(self.device_list, reports.up, reports.down)
