"""Plugging a "VM" the way a hypervisor does: a network namespace whose eth0 is one
end of a veth pair, the other end ``tap<port[:11]>`` in the host's namespace, with
the port's MAC. The L2 agent then sees the tap appear and puts it in the bridge.

With `Vif.ovs` set (the ``ovs`` plug mode) the tap is also added to an Open vSwitch
bridge (br-int) the way Nova/os-vif do: ``external_ids`` iface-id=<port id>,
attached-mac, iface-status, vm-uuid; the Open vSwitch agent finds the port by its
iface-id and tags it with its network's local VLAN.

Used by ``neutrino-vif`` (neutrino.cli.vif) and by the dataplane tests.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field

from neutrino.agent.common import privileged
from neutrino.agent.common.privileged import Kernel
from neutrino.contract import names

VM_PREFIX = "vm-"
GUEST_IFNAME = "eth0"


def vm_namespace(port_id: str) -> str:
    return VM_PREFIX + port_id[:names.ID_LEN]


tap_name = names.tap_device


@dataclass(frozen=True)
class OvsPlug:
    """Where the ``ovs`` plug mode adds the tap: the ovsdb-server and the bridge."""

    ovsdb: str = "unix:/var/run/openvswitch/db.sock"
    bridge: str = "br-int"


@dataclass
class Vif:
    port_id: str
    mac: str
    namespace: str = ""                 # the VM's namespace (default vm-<port[:11]>)
    host_namespace: str | None = None   # where the tap goes (None: this one)
    addresses: Sequence[str] = field(default_factory=list)  # "10.0.0.5/24" (static)
    gateway: str | None = None
    mtu: int | None = None
    ovs: OvsPlug | None = None          # None: a plain tap (the Linux bridge agent's)

    def __post_init__(self) -> None:
        self.namespace = self.namespace or vm_namespace(self.port_id)

    @property
    def tap(self) -> str:
        return tap_name(self.port_id)


def plug(vif: Vif) -> None:
    """Create (or complete) the VM namespace and its veth; idempotent."""
    privileged.create_namespace(vif.namespace)
    with Kernel(vif.host_namespace) as host, Kernel(vif.namespace) as guest:
        if not guest.exists(GUEST_IFNAME):
            host.delete(vif.tap)  # a half-plugged leftover
            # The peer gets a temporary name unique to this port: several plugs may
            # run at once in the same host namespace.
            temporary = "vp" + vif.port_id[:names.ID_LEN]
            host.add_veth(vif.tap, temporary, peer_namespace=vif.namespace)
            guest.set_link(temporary, new_name=GUEST_IFNAME)
        guest.set_link(GUEST_IFNAME, mac=vif.mac.lower(), mtu=vif.mtu)
        guest.set_link(GUEST_IFNAME, up=True)
        for address in vif.addresses:
            iface = ipaddress.ip_interface(address)
            guest.add_address(GUEST_IFNAME, str(iface.ip), iface.network.prefixlen)
        if vif.gateway:
            guest.add_default_route(vif.gateway)
        if vif.mtu:
            host.set_link(vif.tap, mtu=vif.mtu)
        host.set_link(vif.tap, up=True)
    if vif.ovs is not None:
        _ovs_plug(vif, vif.ovs)


def checksum_in_software(namespace: str | None, ifname: str = GUEST_IFNAME) -> None:
    """Turn off TX checksum offload (and so TSO) of a VM's interface. The userspace
    datapath reads a veth through an AF_PACKET socket, which hands it TCP/UDP
    packets whose checksum the kernel left to "hardware": its conntrack then finds
    them invalid (+inv) and the OpenFlow firewall lets nothing stateful through.
    (pyroute2's ethtool: no ethtool binary here.)"""
    from pyroute2.ethtool import Ethtool

    def turn_off() -> None:
        ethtool = Ethtool()  # its socket opened inside the namespace
        try:
            features = ethtool.get_features(ifname)
            features.features["tx-checksum-ip-generic"].enable = False
            ethtool.set_features(ifname, features)
        finally:
            ethtool.close()

    privileged.run_in_namespace(turn_off, namespace)


def _ovs_plug(vif: Vif, target: OvsPlug) -> None:
    checksum_in_software(vif.namespace)
    # Imported here: plain plugging needs no OVSDB library.
    from neutrino.agent.ovs.privileged import Ovsdb
    ovsdb = Ovsdb(target.ovsdb)
    try:
        ovsdb.plug_vm_port(target.bridge, vif.tap, vif.port_id, vif.mac,
                           vm_uuid=vif.namespace)
    finally:
        ovsdb.close()


def unplug(port_id: str, namespace: str | None = None,
           host_namespace: str | None = None, ovs: OvsPlug | None = None) -> None:
    """Remove the VM namespace and the tap (and its OVS port); what is already gone
    is fine."""
    if ovs is not None:
        from neutrino.agent.ovs.privileged import Ovsdb
        ovsdb = Ovsdb(ovs.ovsdb)
        try:
            ovsdb.unplug_port(tap_name(port_id))
        finally:
            ovsdb.close()
    with Kernel(host_namespace) as host:
        host.delete(tap_name(port_id))
    privileged.delete_namespace(namespace or vm_namespace(port_id))
