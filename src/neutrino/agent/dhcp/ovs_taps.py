"""The DHCP agent's taps on the integration bridge (interface_driver = openvswitch).

Each DHCP port's host end (``tap<port[:11]>``) is a port of ``[ovs]
integration_bridge`` plugged the way os-vif plugs a VM (external_ids iface-id,
attached-mac, iface-status, vm-uuid), so the Open vSwitch agent tags it. Two more
external_ids say whose it is: ``neutrino-dhcp-owner`` (the agent's owner alias,
the one its ``qdhcp-`` namespaces carry) and ``neutrino-network`` (the network it
serves). OVSDB is the record: nothing is kept in memory, so a restarted agent finds
its taps again, re-plugs none it already has, and removes those of networks it no
longer serves or of DHCP ports replaced (their rows would otherwise stay on the
bridge with no device behind them).

`stale` is the pure decision (unit-tested); `OvsTaps` the OVSDB side, through
agent/ovs/privileged.Ovsdb (the agents' one door to the switch).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

OWNER_KEY = "neutrino-dhcp-owner"
NETWORK_KEY = "neutrino-network"


def stale(owned: Mapping[str, str], wanted: Mapping[str, str], failed: set[str]
          ) -> list[str]:
    """The owned taps to remove (pure). `owned`: tap -> network (what the bridge
    has of this agent); `wanted`: network -> its tap, for the networks served
    this pass; `failed`: networks this pass could not serve (their taps stay: a
    transient error must not cut DHCP off)."""
    return sorted(tap for tap, network in owned.items()
                  if network not in failed and wanted.get(network) != tap)


class OvsTaps:
    """One agent's taps on one bridge of one ovsdb-server."""

    def __init__(self, connection: str, bridge: str, owner: str) -> None:
        self.connection = connection
        self.bridge = bridge
        self.owner = owner
        self._ovsdb: Any = None  # one connection, kept between passes

    @contextmanager
    def session(self) -> Iterator[Any]:
        """The OVSDB connection for one reconcile pass (opened on first use and
        kept: its IDL replica makes reading the taps cheap; after a failure it is
        opened again on the next pass)."""
        from neutrino.agent.ovs.privileged import Ovsdb
        if self._ovsdb is None:
            self._ovsdb = Ovsdb(self.connection)
        try:
            yield self._ovsdb
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        if self._ovsdb is not None:
            self._ovsdb.close()
            self._ovsdb = None

    def owned(self, ovsdb: Any) -> dict[str, str]:
        """tap -> network of every interface this agent plugged (on any bridge)."""
        rows = ovsdb.api.db_list("Interface", columns=["name", "external_ids"]
                                 ).execute(check_error=True)
        return {row["name"]: ids.get(NETWORK_KEY, "") for row in rows
                if (ids := dict(row["external_ids"])).get(OWNER_KEY) == self.owner}

    def plug(self, ovsdb: Any, tap: str, network_id: str, port_id: str, mac: str,
             namespace: str) -> None:
        ovsdb.plug_vm_port(self.bridge, tap, port_id, mac, vm_uuid=namespace,
                           extra_ids={OWNER_KEY: self.owner, NETWORK_KEY: network_id})

    def unplug(self, ovsdb: Any, tap: str) -> None:
        ovsdb.unplug_port(tap)
