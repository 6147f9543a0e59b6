"""The Linux bridge trunk driver's plan (pure): a trunk's sub-ports as VLAN
sub-interfaces of the parent's tap.

::

    VM ── tap<parent[:11]> ── brq<parent net>          (untagged: the parent port)
             ├── tap<sub1[:11]>  vlan 101 ── brq<sub1 net>
             └── tap<sub2[:11]>  vlan 102 ── brq<sub2 net>

Each sub-interface is named as the sub-port's own tap (contract/trunk.py), carries
the sub-port's MAC, and is then plugged into its network's bridge by the ordinary
plan (plan.py) like any tap, so the firewall, QoS and status reports treat it as a
port. `plan_vlans` only ever deletes VLAN links named ``tap*`` whose parent is a
``tap*`` (ours); it does nothing on a host without VLAN support (the agent then
reports ``trunk_supported: false`` and the server does not bind sub-ports here).
"""

from __future__ import annotations

from dataclasses import dataclass

from neutrino.agent.common.actions import Action
from neutrino.agent.common.actions import act as _act
from neutrino.agent.common.privileged import Link, vlan_link_command
from neutrino.agent.linuxbridge.plan import TAP_PREFIX
from neutrino.contract.l2 import L2State
from neutrino.contract.names import tap_device


@dataclass(frozen=True)
class VlanSpec:
    name: str       # the sub-port's tap name
    parent: str     # the parent port's tap
    vlan_id: int
    mac: str
    port_id: str


def wanted(desired: L2State) -> dict[str, VlanSpec]:
    """The VLAN sub-interfaces of the trunks whose parent is on this host."""
    out: dict[str, VlanSpec] = {}
    for port in desired["ports"]:
        trunk = port.get("trunk")  # absent: not a parent (or a server before trunks)
        if not trunk:
            continue
        parent = tap_device(port["id"])
        for sub in trunk["sub_ports"]:
            if sub["segmentation_type"] != "vlan":
                continue  # the server only accepts vlan; anything else is not ours
            out[sub["device"]] = VlanSpec(sub["device"], parent, sub["segmentation_id"],
                                          sub["mac_address"].lower(), sub["port_id"])
    return out


def _ours(link: Link) -> bool:
    return (link.kind == "vlan" and link.name.startswith(TAP_PREFIX)
            and link.vlan is not None and (link.vlan.parent or "").startswith(TAP_PREFIX))


def _matches(spec: VlanSpec, link: Link) -> bool:
    return (link.vlan is not None and link.vlan.parent == spec.parent
            and link.vlan.vlan_id == spec.vlan_id)


def plan_vlans(want: dict[str, VlanSpec], links: dict[str, Link]) -> list[Action]:
    """Stale or wrongly built sub-interfaces deleted, missing ones added on a
    parent tap that is there (one that is not yet: its appearance resyncs)."""
    actions: list[Action] = []
    gone: set[str] = set()
    for name, link in sorted(links.items()):
        if _ours(link):
            spec = want.get(name)
            if spec is None or not _matches(spec, link):
                actions.append(_act("delete", name))
                gone.add(name)
    for name, spec in sorted(want.items()):
        if spec.parent not in links:
            continue
        if name not in links or name in gone:
            actions.append(_act("add_vlan", name, parent=spec.parent,
                                vlan_id=spec.vlan_id, mac=spec.mac))
    return actions


def render(actions: list[Action]) -> list[list[str]]:
    """The ``ip`` commands the actions amount to (logs, docs, tests)."""
    out: list[list[str]] = []
    for action in actions:
        args = action.kwargs()
        if action.op == "add_vlan":
            out.append(vlan_link_command(action.name, str(args["parent"]),
                                         int(str(args["vlan_id"])), str(args["mac"])))
        elif action.op == "delete":
            out.append(["ip", "link", "delete", action.name])
    return out
