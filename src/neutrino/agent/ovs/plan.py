"""What the Open vSwitch agent wants on its host: bridges, ports and OpenFlow flows.

Pure functions (no OVSDB, no switch), unit-tested in tests/unit/agent:

* `local_vlans(networks, existing)`: a local VLAN tag per network of the host, the
  tags already on br-int's ports kept (a restarted agent finds the same tags, so
  no flow changes and no traffic loss), new networks getting the lowest free tag.
* `layout(desired, settings, observed)`: the "l2" desired state (the same kind the
  Linux bridge agent consumes) turned into upstream's bridge layout: br-int with a
  local VLAN per network, br-tun with one VXLAN port per peer host, a physical
  bridge per ``bridge_mappings`` entry, patch ports between them, and the tag of
  every VM port (found by ``external_ids:iface-id``) on br-int.
* `ovsdb_actions(layout, observed)`: the OVSDB changes that make bridges and ports
  so (only the difference).
* `flows(layout, ofports)`: every flow of this agent, per bridge, with its cookie.
  The switch is then synced to exactly these (privileged.OpenFlow.sync): flows with
  other cookies (the OpenFlow firewall's tables 71-93, another tool's) are never
  touched.

Table numbers are upstream's, which operators know from ``ovs-ofctl dump-flows``:
br-int 0 (classification, VLAN translation of physical networks), 60 (per port:
to the firewall's 71/81 when it is on), 94 (accepted traffic: NORMAL); br-tun 0,
2 (unicast or flood), 4 (tunnel id to local VLAN), 20 (l2population unicast), 22
(flood).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from neutrino.agent.common.actions import Action as Action
from neutrino.agent.common.actions import act as _act
from neutrino.agent.ovs.firewall.flows import port_macs
from neutrino.contract.l2 import L2Network, L2State

DEAD_VLAN = 4095      # ports of no (realisable) network or admin down: dropped
MAX_VLAN = 4094
VXLAN_PORT = 4789
SUPPORTED_TYPES = ("local", "flat", "vlan", "vxlan")

# br-int tables
LOCAL_SWITCHING = 0
TRANSIENT = 60
BASE_EGRESS = 71      # the firewall's first egress table (from a port)
BASE_INGRESS = 81     # the firewall's first ingress table (to a port)
ACCEPTED_EGRESS_NORMAL = 94
# br-tun tables
PATCH_LV_TO_TUN = 2
VXLAN_TUN_TO_LV = 4
UCAST_TO_TUN = 20
FLOOD_TO_TUN = 22

UNICAST = "00:00:00:00:00:00/01:00:00:00:00:00"
MULTICAST = "01:00:00:00:00:00/01:00:00:00:00:00"


@dataclass(frozen=True)
class Settings:
    """The agent's configuration as the plan needs it."""

    integration_bridge: str = "br-int"
    tunnel_bridge: str = "br-tun"
    bridge_mappings: dict[str, str] = field(default_factory=dict)  # physnet -> bridge
    local_ip: str | None = None
    enable_tunneling: bool = True      # "vxlan" in [agent] tunnel_types
    l2_population: bool = True
    vxlan_port: int = VXLAN_PORT
    datapath_type: str = "system"
    firewall: bool = False             # [securitygroup] firewall_driver = openvswitch
    cookie: int = 0x1                  # on every flow of this agent

    @property
    def tunnel_types(self) -> list[str]:
        return ["vxlan"] if self.enable_tunneling and self.local_ip else []


# -- what OVSDB shows ----------------------------------------------------------------

@dataclass(frozen=True)
class OvsPort:
    """A port (and its one interface) as OVSDB shows it."""

    name: str
    bridge: str
    ofport: int = -1                   # -1: not (yet) in the switch
    type: str = ""                     # "", "internal", "patch", "vxlan"
    options: tuple[tuple[str, str], ...] = ()
    iface_id: str | None = None        # external_ids:iface-id (the Neutron port)
    tag: int | None = None
    net_uuid: str | None = None        # other_config:net_uuid (whose local VLAN)
    trunks: tuple[int, ...] = ()       # Port trunks (trunk.py's tpt- ports)


@dataclass
class Observed:
    bridges: set[str] = field(default_factory=set)
    ports: dict[str, OvsPort] = field(default_factory=dict)  # by port name

    def ofport(self, name: str) -> int:
        port = self.ports.get(name)
        return port.ofport if port is not None and port.ofport > 0 else -1


# -- names ----------------------------------------------------------------------------

PATCH_INT = "patch-int"    # br-tun's end of the br-int <-> br-tun patch
PATCH_TUN = "patch-tun"    # br-int's end


def int_patch(bridge: str) -> str:
    """br-int's end of the patch to a physical bridge (upstream's name)."""
    return ("int-" + bridge)[:15]


def phy_patch(bridge: str) -> str:
    """The physical bridge's end of that patch."""
    return ("phy-" + bridge)[:15]


def tunnel_port(remote_ip: str) -> str:
    """br-tun's VXLAN port to a peer: vxlan-<its IPv4 address in hex>."""
    return "vxlan-" + f"{int(ipaddress.IPv4Address(remote_ip)):08x}"


# -- layout -----------------------------------------------------------------------------

@dataclass(frozen=True)
class NetSpec:
    id: str
    local_vlan: int
    network_type: str
    physical_network: str | None
    segmentation_id: int | None
    peers: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (tunnel ip, macs)


@dataclass(frozen=True)
class VmPort:
    """A VM port on br-int: its Neutron port, tag and what its flows need."""

    name: str
    port_id: str
    device: str             # the port's device name in the desired state (reported)
    network_id: str | None  # None: no network of ours (dead VLAN)
    tag: int
    mac: str = ""
    ofport: int = -1
    macs: tuple[str, ...] = ()  # its MAC and its address pairs' (table 60 to 81)


@dataclass
class Layout:
    bridges: dict[str, str] = field(default_factory=dict)        # name -> role
    patches: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (br, peer)
    tunnels: dict[str, str] = field(default_factory=dict)        # port name -> remote ip
    networks: dict[str, NetSpec] = field(default_factory=dict)
    vm_ports: dict[str, VmPort] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)        # network id -> why


def network_refusal(network: L2Network, settings: Settings) -> str | None:
    """Why this agent cannot realise `network`; None when it can."""
    network_type = network["network_type"]
    if network_type == "local":
        return None
    if network_type == "vxlan":
        if not settings.tunnel_types:
            return "VXLAN needs [agent] tunnel_types = vxlan and [ovs] local_ip"
        if network["segmentation_id"] is None:
            return "VXLAN network without segmentation_id"
        return None
    if network_type in ("flat", "vlan"):
        physnet = network["physical_network"]
        if physnet not in settings.bridge_mappings:
            return f"physical network {physnet} not in bridge_mappings"
        if network_type == "vlan" and network["segmentation_id"] is None:
            return "VLAN network without segmentation_id"
        return None
    return f"network type {network_type} is not supported by this agent"


def local_vlans(network_ids: Iterable[str], existing: dict[str, int]) -> dict[str, int]:
    """A local VLAN per network: those in `existing` (read back from br-int's ports)
    kept, the others the lowest free tags. More networks than tags: the rest get
    none (refused by the caller)."""
    wanted = sorted(set(network_ids))
    out = {n: existing[n] for n in wanted if n in existing and 0 < existing[n] <= MAX_VLAN}
    used = set(out.values())
    free = (v for v in range(1, MAX_VLAN + 1) if v not in used)
    for net_id in wanted:
        if net_id not in out:
            tag = next(free, None)
            if tag is None:
                break
            out[net_id] = tag
    return out


def existing_vlans(observed: Observed, integration_bridge: str) -> dict[str, int]:
    """The local VLANs br-int's ports carry (other_config:net_uuid and tag)."""
    out: dict[str, int] = {}
    for port in observed.ports.values():
        if (port.bridge == integration_bridge and port.net_uuid and port.tag
                and port.tag != DEAD_VLAN):
            out.setdefault(port.net_uuid, port.tag)
    return out


def layout(desired: L2State, settings: Settings, observed: Observed) -> Layout:
    out = Layout()
    out.bridges[settings.integration_bridge] = "integration"
    tunneling = bool(settings.tunnel_types)
    if tunneling:
        out.bridges[settings.tunnel_bridge] = "tunnel"
        out.patches[PATCH_TUN] = (settings.integration_bridge, PATCH_INT)
        out.patches[PATCH_INT] = (settings.tunnel_bridge, PATCH_TUN)
    for bridge in settings.bridge_mappings.values():
        out.bridges[bridge] = "physical"
        out.patches[int_patch(bridge)] = (settings.integration_bridge, phy_patch(bridge))
        out.patches[phy_patch(bridge)] = (bridge, int_patch(bridge))

    ports = desired["ports"]
    used = {p["network_id"] for p in ports}
    realisable: dict[str, L2Network] = {}
    for network in desired["networks"]:
        if network["id"] not in used:
            continue
        why = network_refusal(network, settings)
        if why is not None:
            out.refused[network["id"]] = why
        else:
            realisable[network["id"]] = network
    # One flat network per physical network (upstream refuses a second too).
    flat_taken: dict[str, str] = {}
    for net_id, network in sorted(realisable.items()):
        if network["network_type"] == "flat":
            physnet = str(network["physical_network"])
            if physnet in flat_taken:
                out.refused[net_id] = (f"physical network {physnet} already carries "
                                       f"flat network {flat_taken[physnet]}")
                continue
            flat_taken[physnet] = net_id
    for net_id in out.refused:
        realisable.pop(net_id, None)
    vlans = local_vlans(realisable, existing_vlans(observed, settings.integration_bridge))
    for net_id, network in sorted(realisable.items()):
        if net_id not in vlans:
            out.refused[net_id] = "no local VLAN left on the integration bridge"
            continue
        peers: list[tuple[str, tuple[str, ...]]] = []
        if network["network_type"] == "vxlan":
            for peer in network["peers"]:
                ip = peer["tunnel_ip"]
                if not ip or ip == settings.local_ip:
                    continue
                macs = tuple(sorted({m["mac_address"].lower() for m in peer["macs"]
                                     if m["mac_address"]}))
                peers.append((ip, macs))
                out.tunnels[tunnel_port(ip)] = ip
        out.networks[net_id] = NetSpec(net_id, vlans[net_id], str(network["network_type"]),
                                       network["physical_network"],
                                       network["segmentation_id"], tuple(sorted(peers)))

    by_id = {p["id"]: p for p in ports}
    for port in observed.ports.values():
        if port.bridge != settings.integration_bridge or not port.iface_id:
            continue
        wanted = by_id.get(port.iface_id)
        net = out.networks.get(wanted["network_id"]) if wanted is not None else None
        if wanted is None or net is None or not wanted["admin_state_up"]:
            out.vm_ports[port.name] = VmPort(port.name, port.iface_id,
                                             wanted["device"] if wanted else "", None,
                                             DEAD_VLAN, ofport=port.ofport)
            continue
        out.vm_ports[port.name] = VmPort(port.name, port.iface_id, wanted["device"],
                                         net.id, net.local_vlan,
                                         wanted["mac_address"].lower(), port.ofport,
                                         tuple(port_macs(wanted)))
    return out


# -- OVSDB actions -------------------------------------------------------------------

# Action (agent/common/actions.py): `op` is a privileged.Ovsdb method.


def tunnel_options(remote_ip: str, settings: Settings) -> dict[str, str]:
    return {"remote_ip": remote_ip, "local_ip": str(settings.local_ip),
            "key": "flow", "in_key": "flow", "out_key": "flow",
            "dst_port": str(settings.vxlan_port)}


def ovsdb_actions(want: Layout, have: Observed, settings: Settings) -> list[Action]:
    actions: list[Action] = []
    for bridge in sorted(want.bridges):
        if bridge not in have.bridges:
            actions.append(_act("add_bridge", bridge, datapath_type=settings.datapath_type))
    for name, (bridge, peer) in sorted(want.patches.items()):
        port = have.ports.get(name)
        if (port is None or port.bridge != bridge or port.type != "patch"
                or dict(port.options).get("peer") != peer):
            actions.append(_act("add_patch", name, bridge=bridge, peer=peer))
    # br-tun's VXLAN ports: one per peer host; those of hosts gone are removed.
    for name, port in sorted(have.ports.items()):
        if (port.bridge == settings.tunnel_bridge and port.type == "vxlan"
                and name not in want.tunnels):
            actions.append(_act("delete_port", name, bridge=port.bridge))
    for name, remote in sorted(want.tunnels.items()):
        port = have.ports.get(name)
        options = tunnel_options(remote, settings)
        if port is None or port.type != "vxlan" or dict(port.options) != options:
            actions.append(_act("add_tunnel", name, bridge=settings.tunnel_bridge,
                                options=tuple(sorted(options.items()))))
    for name, vm in sorted(want.vm_ports.items()):
        port = have.ports[name]
        if port.tag != vm.tag or port.net_uuid != vm.network_id:
            actions.append(_act("set_port_vlan", name, tag=vm.tag, net_uuid=vm.network_id))
    return actions


# -- flows -------------------------------------------------------------------------------

def _push_vlan(vid: int) -> str:
    """Tag an untagged frame. Written as OpenFlow 1.3+ actions, as the switch shows
    them back (mod_vlan_vid would read back as these and never compare equal)."""
    return f"push_vlan:0x8100,{_set_vlan(vid)}"


def _set_vlan(vid: int) -> str:
    return f"set_field:{vid | 0x1000}->vlan_vid"


def _flow(settings: Settings, table: int, priority: int, match: str, actions: str) -> str:
    head = f"cookie={settings.cookie:#x},table={table},priority={priority}"
    return f"{head},{match} actions={actions}" if match else f"{head} actions={actions}"


def flows(want: Layout, have: Observed, settings: Settings) -> dict[str, list[str]]:
    """Every flow of this agent by bridge (ofports from `have`, read after the OVSDB
    actions). A port without an ofport yet gets no flow: the next sync adds it."""
    out: dict[str, list[str]] = {b: [] for b in want.bridges}
    out[settings.integration_bridge] = _integration_flows(want, have, settings)
    if settings.tunnel_bridge in want.bridges:
        out[settings.tunnel_bridge] = _tunnel_flows(want, have, settings)
    for physnet, bridge in sorted(settings.bridge_mappings.items()):
        out[bridge] = _physical_flows(physnet, bridge, want, have, settings)
    return out


def _integration_flows(want: Layout, have: Observed, settings: Settings) -> list[str]:
    f: list[str] = []

    def add(table: int, priority: int, match: str, actions: str) -> None:
        f.append(_flow(settings, table, priority, match, actions))

    add(LOCAL_SWITCHING, 65535, "vlan_tci=0x0fff/0x1fff", "drop")
    add(LOCAL_SWITCHING, 0, "", f"resubmit(,{TRANSIENT})")
    # From a physical bridge: its segment's VLAN (none for flat) to the local VLAN;
    # anything else from it dropped.
    for physnet, bridge in sorted(settings.bridge_mappings.items()):
        ofport = have.ofport(int_patch(bridge))
        if ofport < 0:
            continue
        add(LOCAL_SWITCHING, 2, f"in_port={ofport}", "drop")
        for net in sorted(want.networks.values(), key=lambda n: n.local_vlan):
            if net.physical_network != physnet:
                continue
            if net.network_type == "vlan":
                match = f"in_port={ofport},dl_vlan={net.segmentation_id}"
                tag = _set_vlan(net.local_vlan)
            else:
                match = f"in_port={ofport},vlan_tci=0x0000/0x1fff"
                tag = _push_vlan(net.local_vlan)
            add(LOCAL_SWITCHING, 3, match, f"{tag},resubmit(,{TRANSIENT})")
    for vm in sorted(want.vm_ports.values(), key=lambda v: v.name):
        if vm.ofport < 0:
            continue
        if vm.tag == DEAD_VLAN:
            add(LOCAL_SWITCHING, 2, f"in_port={vm.ofport}", "drop")
        elif settings.firewall:
            for priority, match, actions in transient_flows(vm.ofport, vm.tag,
                                                            vm.macs or (vm.mac,)):
                add(TRANSIENT, priority, match, actions)
    add(TRANSIENT, 3, "", f"resubmit(,{ACCEPTED_EGRESS_NORMAL})")
    add(ACCEPTED_EGRESS_NORMAL, 1, "", "NORMAL")
    return f


def transient_flows(ofport: int, vlan: int, macs: Iterable[str]
                    ) -> list[tuple[int, str, str]]:
    """Table 60 of one port when the firewall is on: the seam between the agent and
    the OpenFlow firewall (firewall_hook.py), upstream's: reg5 the port's ofport,
    reg6 its local VLAN (the conntrack zone); traffic from the port to 71, traffic
    to any of its MACs (its own and its address pairs') on its VLAN to 81 with the
    tag popped. (priority, match, actions) triples; the firewall's tests install
    the same ones."""
    regs = f"set_field:{ofport}->reg5,set_field:{vlan}->reg6"
    out = [(100, f"in_port={ofport}", f"{regs},resubmit(,{BASE_EGRESS})")]
    out += [(90, f"dl_vlan={vlan},dl_dst={mac}",
             f"{regs},pop_vlan,resubmit(,{BASE_INGRESS})") for mac in macs]
    return out


def _tunnel_flows(want: Layout, have: Observed, settings: Settings) -> list[str]:
    f: list[str] = []

    def add(table: int, priority: int, match: str, actions: str) -> None:
        f.append(_flow(settings, table, priority, match, actions))

    patch = have.ofport(PATCH_INT)
    add(0, 0, "", "drop")
    if patch > 0:
        add(0, 1, f"in_port={patch}", f"resubmit(,{PATCH_LV_TO_TUN})")
    tunnels = {ip: have.ofport(name) for name, ip in want.tunnels.items()}
    for ofport in sorted(tunnels.values()):
        if ofport > 0:
            add(0, 1, f"in_port={ofport}", f"resubmit(,{VXLAN_TUN_TO_LV})")
    add(PATCH_LV_TO_TUN, 0, f"dl_dst={UNICAST}", f"resubmit(,{UCAST_TO_TUN})")
    add(PATCH_LV_TO_TUN, 0, f"dl_dst={MULTICAST}", f"resubmit(,{FLOOD_TO_TUN})")
    add(VXLAN_TUN_TO_LV, 0, "", "drop")
    add(UCAST_TO_TUN, 0, "", f"resubmit(,{FLOOD_TO_TUN})")
    add(FLOOD_TO_TUN, 0, "", "drop")
    for net in sorted(want.networks.values(), key=lambda n: n.local_vlan):
        if net.network_type != "vxlan":
            continue
        if patch > 0:
            add(VXLAN_TUN_TO_LV, 1, f"tun_id={net.segmentation_id:#x}",
                f"{_push_vlan(net.local_vlan)},output:{patch}")
        outputs = sorted({tunnels[ip] for ip, _ in net.peers if tunnels.get(ip, -1) > 0})
        if outputs:
            add(FLOOD_TO_TUN, 1, f"dl_vlan={net.local_vlan}",
                f"pop_vlan,set_field:{net.segmentation_id:#x}->tun_id,"
                + ",".join(f"output:{o}" for o in outputs))
        if not settings.l2_population:
            continue
        for ip, macs in net.peers:
            ofport = tunnels.get(ip, -1)
            if ofport < 0:
                continue
            for mac in macs:
                add(UCAST_TO_TUN, 2, f"dl_vlan={net.local_vlan},dl_dst={mac}",
                    f"pop_vlan,set_field:{net.segmentation_id:#x}->tun_id,"
                    f"output:{ofport}")
    return f


def _physical_flows(physnet: str, bridge: str, want: Layout, have: Observed,
                    settings: Settings) -> list[str]:
    f: list[str] = []

    def add(table: int, priority: int, match: str, actions: str) -> None:
        f.append(_flow(settings, table, priority, match, actions))

    add(0, 0, "", "NORMAL")
    ofport = have.ofport(phy_patch(bridge))
    if ofport < 0:
        return f
    add(0, 2, f"in_port={ofport}", "drop")
    for net in sorted(want.networks.values(), key=lambda n: n.local_vlan):
        if net.physical_network != physnet:
            continue
        translate = (_set_vlan(int(net.segmentation_id or 0))
                     if net.network_type == "vlan" else "pop_vlan")
        add(0, 4, f"in_port={ofport},dl_vlan={net.local_vlan}", f"{translate},NORMAL")
    return f


# -- device up/down reports -----------------------------------------------------------------

@dataclass
class Reports:
    up: list[str] = field(default_factory=list)
    down: list[str] = field(default_factory=list)


def device_reports(desired: L2State, want: Layout) -> Reports:
    """A port whose OVS port is on br-int with its network's tag and an ofport is
    up; one the server shows ACTIVE that is not (gone, admin down) is down."""
    plugged = {vm.port_id for vm in want.vm_ports.values()
               if vm.network_id is not None and vm.ofport > 0}
    out = Reports()
    for port in desired["ports"]:
        is_up = port["id"] in plugged
        if is_up and port["status"] != "ACTIVE":
            out.up.append(port["device"])
        elif not is_up and port["status"] == "ACTIVE":
            out.down.append(port["device"])
    return out
