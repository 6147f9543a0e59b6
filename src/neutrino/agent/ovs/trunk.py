"""The Open vSwitch trunk driver's plan (pure): upstream's trunk bridge layout.

::

    VM ── tap ── tbr-<trunk>  tpt-<trunk> ═ tpi-<trunk> ── br-int   untagged: the parent
                  (NORMAL)    spt-<sub1>  ═ spi-<sub1>  ── br-int   VLAN 101: sub-port 1
                              spt-<sub2>  ═ spi-<sub2>  ── br-int   VLAN 102: sub-port 2

(ids cut to fit 15 characters: ``tbr-`` + 10, the others + 11.)

The trunk bridge ``tbr-`` is the hypervisor's, as upstream's: Nova/os-vif makes it
and plugs the VM's port into it (it switches with NORMAL, standalone). When it is
there and the trunk's parent is bound to this host, the agent wires it to br-int
with patch port pairs: the parent's (``tpt-`` on the trunk bridge carrying only
untagged frames, ``trunks=[0]``) and one per sub-port (``spt-`` an access port of
the sub-port's segmentation id: the VM's frames tagged with it leave the trunk
bridge there untagged, and frames toward the VM get that tag back). The br-int
ends (``tpi-``/``spi-``) carry ``external_ids:iface-id`` of the parent/sub-port,
so the rest of the agent (plan.py) treats them as any VM port: the local VLAN of
their network, table 60, the OpenFlow firewall's tables (security groups apply to
sub-ports as to any port), and the up/down reports that make ports ACTIVE (and,
server side, the trunk ACTIVE).

Only ports with these four prefixes of type patch are ever deleted: a sub-port
removed loses exactly its pair, a trunk gone (or its bridge deleted by the
hypervisor) all of its pairs. Nothing is kept between syncs: a restarted agent
finds the pairs in OVSDB and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from neutrino.agent.common.actions import Action
from neutrino.agent.common.actions import act as _act
from neutrino.agent.ovs.plan import DEAD_VLAN, Layout, Observed, Settings
from neutrino.contract.l2 import L2State
from neutrino.contract.trunk import NAME_MAX, TRUNK_BRIDGE_PREFIX, trunk_bridge

PARENT_PREFIX = "tp"    # tpt- (trunk bridge side), tpi- (br-int side)
SUBPORT_PREFIX = "sp"   # spt-, spi-


def int_port(prefix: str, some_id: str) -> str:
    return f"{prefix}i-{some_id}"[:NAME_MAX]


def trunk_port(prefix: str, some_id: str) -> str:
    return f"{prefix}t-{some_id}"[:NAME_MAX]


def _ours(name: str) -> bool:
    return name[:4] in ("tpi-", "tpt-", "spi-", "spt-")


@dataclass(frozen=True)
class TrunkPatch:
    """One end of a patch pair between a trunk bridge and br-int."""

    name: str
    bridge: str
    peer: str
    tag: int | None = None          # spt-: the segmentation id; *i-: the local VLAN
    trunks: tuple[int, ...] = ()    # tpt-: (0,) untagged only
    iface_id: str | None = None     # *i-: the Neutron port (parent or sub-port)
    mac: str | None = None


def wanted(desired: L2State, want: Layout, have: Observed,
           settings: Settings) -> dict[str, TrunkPatch]:
    """The patch ports of the trunks whose parent is bound here and whose trunk
    bridge exists (a bridge made later triggers a sync: its VM port's interface)."""
    out: dict[str, TrunkPatch] = {}
    integration = settings.integration_bridge
    ports = {p["id"]: p for p in desired["ports"]}

    def local(port_id: str) -> int:
        """The br-int end's first tag (then plan.py's, with its net_uuid)."""
        port = ports.get(port_id)
        net = want.networks.get(port["network_id"]) if port is not None else None
        if port is None or net is None or not port["admin_state_up"]:
            return DEAD_VLAN
        return net.local_vlan

    def pair(prefix: str, some_id: str, bridge: str, port_id: str, mac: str,
             tag: int | None, trunks: tuple[int, ...]) -> None:
        inside, outside = int_port(prefix, some_id), trunk_port(prefix, some_id)
        out[outside] = TrunkPatch(outside, bridge, inside, tag=tag, trunks=trunks)
        out[inside] = TrunkPatch(inside, integration, outside, tag=local(port_id),
                                 iface_id=port_id, mac=mac.lower())

    for port in desired["ports"]:
        trunk = port.get("trunk")
        if not trunk:
            continue
        bridge = trunk_bridge(trunk["trunk_id"])
        if bridge not in have.bridges:
            continue
        pair(PARENT_PREFIX, trunk["trunk_id"], bridge, port["id"], port["mac_address"],
             None, (0,))
        for sub in trunk["sub_ports"]:
            if sub["segmentation_type"] != "vlan":
                continue  # the server accepts only vlan
            pair(SUBPORT_PREFIX, sub["port_id"], bridge, sub["port_id"],
                 sub["mac_address"], sub["segmentation_id"], ())
    return out


def _differs(spec: TrunkPatch, have: Observed) -> bool:
    port = have.ports.get(spec.name)
    if port is None or port.bridge != spec.bridge or port.type != "patch":
        return True
    if dict(port.options).get("peer") != spec.peer or port.iface_id != spec.iface_id:
        return True
    # The br-int end's tag is plan.ovsdb_actions' (set_port_vlan) once it exists.
    return spec.iface_id is None and (port.tag != spec.tag or port.trunks != spec.trunks)


def ovsdb_actions(want: dict[str, TrunkPatch], have: Observed,
                  settings: Settings) -> list[Action]:
    """Our patch ports not wanted (or on the wrong bridge) deleted, missing or
    different ones (re)made."""
    actions: list[Action] = []
    for name, port in sorted(have.ports.items()):
        if not _ours(name) or port.type != "patch":
            continue
        if port.bridge != settings.integration_bridge and not port.bridge.startswith(
                TRUNK_BRIDGE_PREFIX):
            continue
        spec = want.get(name)
        if spec is None or spec.bridge != port.bridge:
            actions.append(_act("delete_port", name, bridge=port.bridge))
    for name, spec in sorted(want.items()):
        if _differs(spec, have):
            actions.append(_act("add_trunk_patch", name, bridge=spec.bridge,
                                peer=spec.peer, tag=spec.tag, trunks=spec.trunks,
                                iface_id=spec.iface_id, mac=spec.mac))
    return actions


def merge(plan_actions: list[Action], trunk_actions: list[Action]) -> list[Action]:
    """The plan's actions and the trunk's in one transaction: trunk patches first
    (deleted or made), then the plan's, less those on a port deleted or remade here
    (its tag is the trunk action's)."""
    touched = {a.name for a in trunk_actions}
    return trunk_actions + [a for a in plan_actions
                            if not (a.op == "set_port_vlan" and a.name in touched)]
