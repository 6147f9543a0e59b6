"""The OpenFlow firewall tests' private switch: ovs_host.OvsHost (the one
private-OVS fixture of the Open vSwitch tests: its own ovsdb-server and an
ovs-vswitchd in a test namespace, userspace datapath, stopped by pid) under the
names those tests use."""

from __future__ import annotations

from pathlib import Path

from dataplane.ovs_host import OvsHost
from dataplane.ovs_host import available as available
from neutrino.agent import vif


class Switch(OvsHost):
    """ovsdb-server + ovs-vswitchd in `namespace`, everything under `root`."""

    def __init__(self, root: Path, namespace: str) -> None:
        super().__init__(root, namespace)
        self.root = root
        self.vswitchd_ctl = root / "ovs-vswitchd.ctl"

    def target(self, bridge: str) -> str:
        """How ovs-ofctl reaches `bridge` of this switch."""
        return self.mgmt(bridge)


def checksum_in_software(namespace: str, ifname: str = "eth0") -> None:
    """vif.checksum_in_software (what the ``ovs`` plug mode does) for VMs made
    by hand."""
    vif.checksum_in_software(namespace, ifname)
