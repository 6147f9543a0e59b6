"""Interface drivers: how the DHCP and L3 agents plug a namespace's port.

Both keep a veth pair: ``tap<port[:11]>`` on the host side, the device (``ns-``,
``qr-``, ``qg-``, ``ha-``) inside the namespace. The driver says what else the tap
needs:

* ``linuxbridge`` (upstream's ``BridgeInterfaceDriver``): nothing; the Linux bridge
  agent puts the tap in the network's bridge (the port is bound to this host).
* ``openvswitch`` (upstream's ``OVSInterfaceDriver``): the tap becomes a port of
  ``[ovs] integration_bridge`` the way os-vif plugs a VM (external_ids iface-id,
  attached-mac, iface-status, vm-uuid), so the Open vSwitch agent tags it with its
  network's local VLAN; the namespace end computes its TX checksums in software
  (the userspace datapath's conntrack finds offloaded ones invalid:
  vif.checksum_in_software).

`OvsPorts` also marks each tap with its owner and the group it belongs to (a
router, a network) in external_ids, so an agent finds the taps it plugged in
OVSDB after a restart and removes those no longer wanted (`stale`, pure): a
namespace removed takes its veth with it, but not the tap's row on the bridge.

The options live here so that each agent registers the same objects.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from oslo_config import cfg

# Accepted values of interface_driver: ours and upstream's names of the same driver.
LINUXBRIDGE_DRIVERS = ("linuxbridge", "neutron.agent.linux.interface.BridgeInterfaceDriver")
OVS_DRIVERS = ("openvswitch", "neutron.agent.linux.interface.OVSInterfaceDriver")
DRIVERS = (*LINUXBRIDGE_DRIVERS, *OVS_DRIVERS)

# Where the 'openvswitch' interface driver plugs (upstream's [ovs] names).
ovs_opts: list[cfg.Opt] = [
    cfg.StrOpt("integration_bridge", default="br-int",
               help="The Open vSwitch agent's integration bridge (interface_driver "
                    "= openvswitch)."),
    cfg.StrOpt("ovsdb_connection", default="unix:/var/run/openvswitch/db.sock",
               help="The ovsdb-server of that bridge (interface_driver = "
                    "openvswitch)."),
]


def check(driver: str) -> list[str]:
    """What is wrong with an interface_driver value (empty: fine)."""
    if driver in DRIVERS:
        return []
    return [f"interface_driver {driver!r} is not supported: use 'linuxbridge' or "
            "'openvswitch'"]


def ovs_target(conf: cfg.ConfigOpts) -> tuple[str, str] | None:
    """(ovsdb connection, bridge) where the taps go with interface_driver =
    openvswitch; None with the Linux bridge driver."""
    if conf.interface_driver in OVS_DRIVERS:
        return conf.ovs.ovsdb_connection, conf.ovs.integration_bridge
    return None


def stale(owned: Mapping[str, str], wanted: Mapping[str, str], failed: set[str]
          ) -> list[str]:
    """The owned taps to unplug (pure). `owned`: tap -> group, as the bridge has
    them; `wanted`: tap -> group, the taps this pass keeps; `failed`: groups this
    pass could not converge (their taps stay: a transient error must not cut them
    off)."""
    return sorted(tap for tap, group in owned.items()
                  if group not in failed and wanted.get(tap) != group)


class OvsPorts:
    """One agent's taps on one bridge of one ovsdb-server. `owner_key` and
    `group_key` name the external_ids that mark them (the L3 agent's
    ``neutrino-l3-owner`` = its owner alias, ``neutrino-router`` = the router; the
    DHCP agent's ``neutrino-dhcp-owner``, ``neutrino-network``). `keep`: one OVSDB
    connection kept between passes (its IDL replica makes reading the taps cheap;
    reopened on the next pass after a failure, closed by `close`) instead of one
    per pass."""

    def __init__(self, connection: str, bridge: str, owner: str,
                 owner_key: str, group_key: str, keep: bool = False) -> None:
        self.connection = connection
        self.bridge = bridge
        self.owner = owner
        self.owner_key = owner_key
        self.group_key = group_key
        self.keep = keep
        self._ovsdb: Any = None  # with `keep`: the connection between passes

    @contextmanager
    def session(self) -> Iterator[Any]:
        """The OVSDB connection for one reconcile pass."""
        from neutrino.agent.ovs.privileged import Ovsdb
        if self._ovsdb is None:
            self._ovsdb = Ovsdb(self.connection)
        try:
            yield self._ovsdb
        except BaseException:
            self.close()
            raise
        if not self.keep:
            self.close()

    def close(self) -> None:
        if self._ovsdb is not None:
            self._ovsdb.close()
            self._ovsdb = None

    def owned(self, ovsdb: Any) -> dict[str, str]:
        """tap -> group of every interface this agent plugged (on any bridge)."""
        rows = ovsdb.api.db_list("Interface", columns=["name", "external_ids"]
                                 ).execute(check_error=True)
        return {row["name"]: ids.get(self.group_key, "") for row in rows
                if (ids := dict(row["external_ids"])).get(self.owner_key) == self.owner}

    def plug(self, ovsdb: Any, tap: str, group: str, port_id: str, mac: str,
             namespace: str, device: str) -> None:
        """The tap on the bridge (idempotent), and `device` (its peer in
        `namespace`) checksumming in software."""
        from neutrino.agent import vif
        ovsdb.plug_vm_port(self.bridge, tap, port_id, mac, vm_uuid=namespace,
                           extra_ids={self.owner_key: self.owner, self.group_key: group})
        vif.checksum_in_software(namespace, device)

    def unplug(self, ovsdb: Any, tap: str) -> None:
        ovsdb.unplug_port(tap)
