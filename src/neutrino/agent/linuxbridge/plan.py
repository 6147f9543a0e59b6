"""What the Linux bridge agent wants on its host, and the steps from what is there.

Pure functions (no kernel, no bus), unit-tested in tests/unit/agent:

* `layout(desired, settings)`: the server's desired state (kind "l2", docs/rpc.md)
  turned into kernel objects: a bridge ``brq<net[:11]>`` per network with ports on
  this host; for VXLAN a ``vxlan-<vni>`` device in it with flood entries
  (00:00:00:00:00:00) to every peer VTEP and, with l2_population, one entry per
  peer MAC; for flat the mapped physical interface in it; for local the bridge
  alone; each port's ``tap`` device in its network's bridge.
* `plan(want, have)`: the actions that turn the observed kernel state into that,
  only the difference, in an order that works (stale things first, then bridges,
  vxlan devices, membership, FDB). Only names this agent owns (``brq*``,
  ``vxlan-*``, taps of ports) are ever deleted or detached; with `Settings.owner`
  (the agent binary's: its host) only the bridges and VXLAN devices whose alias
  (``ifalias``) it set when making them, or an unmarked one it wants and adopts:
  another agent's in the same namespace (tests, a conformance run beside an
  all-in-one) are never deleted.
* `device_reports(desired, want, have)`: which ports to report up or down.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from neutrino.agent.common.actions import Action as Action
from neutrino.agent.common.actions import act as _act
from neutrino.agent.common.privileged import ZERO_MAC, FdbEntry, Link, Snapshot, Vxlan
from neutrino.contract import names
from neutrino.contract.l2 import L2Network, L2State

LOG = logging.getLogger(__name__)

BRIDGE_PREFIX = names.BRIDGE_PREFIX
VXLAN_PREFIX = names.VXLAN_PREFIX
TAP_PREFIX = names.TAP_PREFIX
VXLAN_PORT = 4789  # IANA's VXLAN port (the kernel's own default is 8472)
SUPPORTED_TYPES = ("local", "flat", "vxlan")
# The alias (ifalias) of the bridges and VXLAN devices an agent makes, with its host.
OWNER_ALIAS = "neutrino-linuxbridge-agent host={}"

bridge_name = names.bridge
vxlan_name = names.vxlan_device
tap_name = names.tap_device


@dataclass(frozen=True)
class Settings:
    """The agent's configuration as the plan needs it."""

    local_ip: str | None = None
    enable_vxlan: bool = True
    l2_population: bool = True
    interface_mappings: dict[str, str] = field(default_factory=dict)  # physnet -> dev
    vxlan_port: int = VXLAN_PORT
    # Trunks (issue 14): whether this host can make VLAN sub-interfaces (found at
    # start, privileged.vlan_support), and why not.
    trunk_supported: bool = False
    trunk_unsupported_reason: str = ""
    # The alias marking this agent's bridges and VXLAN devices (OWNER_ALIAS); None:
    # every brq*/vxlan-* device of the namespace is this agent's (one per namespace).
    owner: str | None = None

    @property
    def tunnel_types(self) -> list[str]:
        return ["vxlan"] if self.enable_vxlan and self.local_ip else []


@dataclass(frozen=True)
class BridgeSpec:
    name: str
    network_id: str
    mtu: int | None
    uplink: str | None = None  # vxlan device or physical interface enslaved to it


@dataclass(frozen=True)
class VxlanSpec:
    name: str
    vni: int
    local: str | None
    port: int
    learning: bool
    mtu: int | None
    bridge: str
    fdb: frozenset[FdbEntry]


@dataclass(frozen=True)
class TapSpec:
    name: str
    port_id: str
    bridge: str | None  # None: admin down, kept out of every bridge
    mtu: int | None


@dataclass
class Layout:
    """The kernel objects wanted on this host."""

    bridges: dict[str, BridgeSpec] = field(default_factory=dict)
    vxlans: dict[str, VxlanSpec] = field(default_factory=dict)
    physical: dict[str, str] = field(default_factory=dict)  # interface -> bridge
    taps: dict[str, TapSpec] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)  # network id -> why not


def network_refusal(network: L2Network, settings: Settings) -> str | None:
    """Why this agent cannot realise `network`; None when it can."""
    network_type = network["network_type"]
    if network_type == "local":
        return None
    if network_type == "vxlan":
        if not settings.enable_vxlan:
            return "VXLAN is disabled ([vxlan] enable_vxlan)"
        if not settings.local_ip:
            return "no [vxlan] local_ip"
        if network["segmentation_id"] is None:
            return "VXLAN network without segmentation_id"
        return None
    if network_type == "flat":
        physnet = network["physical_network"]
        if physnet not in settings.interface_mappings:
            return f"physical network {physnet} not in physical_interface_mappings"
        return None
    return f"network type {network_type} is not supported by this agent"


def layout(desired: L2State, settings: Settings) -> Layout:
    out = Layout()
    ports = desired["ports"]
    used = {p["network_id"] for p in ports}
    for network in desired["networks"]:
        net_id = network["id"]
        if net_id not in used:
            continue
        why = network_refusal(network, settings)
        if why is not None:
            out.refused[net_id] = why
            continue
        mtu = network["mtu"] or None
        bridge = bridge_name(net_id)
        uplink = None
        vni = network["segmentation_id"]
        if network["network_type"] == "vxlan" and vni is not None:  # (refused if None)
            uplink = vxlan_name(vni)
            out.vxlans[uplink] = VxlanSpec(
                name=uplink, vni=vni, local=settings.local_ip, port=settings.vxlan_port,
                learning=not settings.l2_population, mtu=mtu, bridge=bridge,
                fdb=frozenset(_fdb(network, settings)))
        elif network["network_type"] == "flat":
            uplink = settings.interface_mappings[str(network["physical_network"])]
            if uplink in out.physical:
                # Two flat networks on one physical network: upstream refuses too.
                out.refused[net_id] = (f"interface {uplink} already carries network "
                                       f"of bridge {out.physical[uplink]}")
                continue
            out.physical[uplink] = bridge
        out.bridges[bridge] = BridgeSpec(bridge, net_id, mtu, uplink)
    networks = {spec.network_id: spec for spec in out.bridges.values()}
    for port in ports:
        spec = networks.get(port["network_id"])
        if spec is None:
            continue  # its network is refused (logged by the caller)
        name = port["device"]
        in_bridge = spec.name if port["admin_state_up"] else None
        out.taps[name] = TapSpec(name, port["id"], in_bridge, spec.mtu)
    return out


def _fdb(network: L2Network, settings: Settings) -> set[FdbEntry]:
    entries: set[FdbEntry] = set()
    for peer in network["peers"]:
        dst = peer["tunnel_ip"]
        if not dst or dst == settings.local_ip:
            continue
        entries.add(FdbEntry(ZERO_MAC, dst))
        if settings.l2_population:
            for mac in peer["macs"]:
                if mac["mac_address"]:
                    entries.add(FdbEntry(mac["mac_address"].lower(), dst))
    return entries


# -- actions -------------------------------------------------------------------

# Action (agent/common/actions.py): `op` is a Kernel method name.


def _vxlan_matches(spec: VxlanSpec, actual: Vxlan | None) -> bool:
    return (actual is not None and actual.vni == spec.vni and actual.local == spec.local
            and actual.port == spec.port and actual.learning == spec.learning)


def _owned(link: Link, owner: str | None, wanted: bool) -> bool:
    """Whether a bridge or VXLAN device is this agent's to delete: marked with its
    alias; an unmarked one only when it wants that name (adopting it: made by a
    version that did not mark, or by itself before a crash) or owns everything."""
    if owner is None or link.alias == owner:
        return True
    return wanted and not link.alias


def _mark(name: str, link: Link | None, owner: str | None) -> list[Action]:
    """Mark a device made (link None) or adopted (unmarked) by this agent."""
    if owner is None or (link is not None and link.alias):
        return []
    return [_act("set_link_alias", name, alias=owner)]


def plan(want: Layout, have: Snapshot, owner: str | None = None) -> list[Action]:
    """`owner`: Settings.owner (None: every brq*/vxlan-* device is this agent's)."""
    links = have.links
    actions: list[Action] = []
    recreated: set[str] = set()
    # 1. Stale or wrongly built devices of ours go first (a name may come back).
    for name, existing in sorted(links.items()):
        if name.startswith(VXLAN_PREFIX) and existing.kind == "vxlan":
            wanted = want.vxlans.get(name)
            if not _owned(existing, owner, wanted is not None):
                continue
            if wanted is None or not _vxlan_matches(wanted, existing.vxlan):
                actions.append(_act("delete", name))
                recreated.add(name)
        elif name.startswith(BRIDGE_PREFIX) and existing.kind == "bridge":
            if name not in want.bridges and _owned(existing, owner, False):
                actions.append(_act("delete", name))
    # 2. Bridges.
    for name in sorted(want.bridges):
        link = links.get(name)
        if link is None:
            actions.append(_act("add_bridge", name))
            actions.extend(_mark(name, None, owner))
            actions.append(_act("set_link", name, up=True))
        elif link.kind != "bridge":
            LOG.warning("%s exists but is a %s, not a bridge: left alone", name, link.kind)
        else:
            actions.extend(_mark(name, link, owner))
            if not link.up:
                actions.append(_act("set_link", name, up=True))
    # 3. VXLAN devices, in their bridge, up, with the network's MTU.
    for name, spec in sorted(want.vxlans.items()):
        link = None if name in recreated else links.get(name)
        if link is None:
            actions.append(_act("add_vxlan", name, vni=spec.vni, local=spec.local,
                                port=spec.port, learning=spec.learning, mtu=spec.mtu))
        actions.extend(_mark(name, link, owner))
        actions.extend(_membership(name, link, spec.bridge, spec.mtu, True))
    # 4. Physical interfaces of flat networks: in their bridge and up; those of
    #    ours that no longer carry a network leave our bridges (but stay up).
    for name, bridge in sorted(want.physical.items()):
        link = links.get(name)
        if link is None:
            LOG.warning("physical interface %s (physical_interface_mappings) missing", name)
            continue
        actions.extend(_membership(name, link, bridge, None, True))
    # 5. Taps: into their network's bridge, up, network MTU; admin-down ones out.
    for name, tap in sorted(want.taps.items()):
        link = links.get(name)
        if link is None:
            continue  # not plugged (yet): its appearance triggers a resync
        if tap.bridge is None:
            if link.master is not None and link.master.startswith(BRIDGE_PREFIX):
                actions.append(_act("set_link", name, nomaster=True))
            if link.up:
                actions.append(_act("set_link", name, up=False))
            continue
        actions.extend(_membership(name, link, tap.bridge, tap.mtu, True))
    # 6. Devices in our bridges that are not wanted there leave them (a tap of a
    #    port gone from this host, an interface no longer mapped).
    wanted_in = {**{s.name: s.bridge for s in want.vxlans.values()}, **want.physical,
                 **{t.name: t.bridge for t in want.taps.values() if t.bridge}}
    for name, existing in sorted(links.items()):
        master = existing.master
        if (master and master.startswith(BRIDGE_PREFIX) and master in want.bridges
                and name not in wanted_in and name not in want.taps
                and not name.startswith(VXLAN_PREFIX)):
            actions.append(_act("set_link", name, nomaster=True))
    # 7. FDB of the vxlan devices: remove what is not wanted, add what is missing.
    for name, spec in sorted(want.vxlans.items()):
        current = set() if name in recreated else have.fdb.get(name, set())
        for entry in sorted(current - spec.fdb, key=_entry_key):
            actions.append(_act("fdb_delete", name, mac=entry.mac, dst=entry.dst))
        for entry in sorted(spec.fdb - current, key=_entry_key):
            actions.append(_act("fdb_append", name, mac=entry.mac, dst=entry.dst))
    return actions


def _entry_key(entry: FdbEntry) -> tuple[str, str]:
    return entry.dst, entry.mac


def _membership(name: str, link: Link | None, bridge: str, mtu: int | None,
                up: bool) -> list[Action]:
    """set_link actions that put `name` in `bridge` with `mtu` and up; none when it
    already is (link None: just created, everything to set)."""
    changes: dict[str, object] = {}
    if link is None or link.master != bridge:
        changes["master"] = bridge
    if mtu and (link is None or link.mtu != mtu):
        changes["mtu"] = mtu
    out = [_act("set_link", name, **changes)] if changes else []
    if link is None or link.up != up:
        out.append(_act("set_link", name, up=up))
    return out


# -- device up/down reports -------------------------------------------------------

@dataclass
class Reports:
    up: list[str] = field(default_factory=list)    # devices to report up
    down: list[str] = field(default_factory=list)  # devices to report down


def device_reports(desired: L2State, want: Layout, links: dict[str, Link]) -> Reports:
    """Level-triggered status: a port whose tap is in its bridge (after the plan
    ran) but that the server does not show ACTIVE is reported up; one shown ACTIVE
    whose tap is gone or that is admin down is reported down."""
    out = Reports()
    for port in desired["ports"]:
        name = port["device"]
        spec = want.taps.get(name)
        link = links.get(name)
        plugged = (spec is not None and spec.bridge is not None and link is not None
                   and link.master == spec.bridge and link.up)
        status = port["status"]
        if plugged and status != "ACTIVE":
            out.up.append(name)
        elif not plugged and status == "ACTIVE":
            out.down.append(name)
    return out
