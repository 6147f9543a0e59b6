"""A remote group's membership change on a host with 20 filtered ports: applied as
set element updates (sets.py), no rule of the table rewritten, and traffic follows
the new membership. Three ports are VMs (namespaces, for traffic); the other 17 are
veth pairs without a namespace, whose taps only need to be in the bridge and in the
firewall. Everything is inside the test's own namespaces (Topology)."""

from __future__ import annotations

import re
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest

from dataplane.test_firewall import CLIENT, EGRESS_ANY, NETWORK, Lab, rule
from dataplane.topology import Topology, ping, ping_once
from neutrino.agent.common.privileged import Kernel
from neutrino.agent.linuxbridge.plan import tap_name

PORTS = 20


@pytest.fixture
def lab(topo: Topology) -> Iterator[Lab]:
    lab = Lab(topo)
    try:
        yield lab
    finally:
        lab.close()


def bare_port(lab: Lab, index: int, groups: tuple[str, ...]) -> None:
    """A port whose tap is one end of a veth pair left in the host namespace."""
    port_id = str(uuid.uuid4())
    tap = tap_name(port_id)
    with Kernel(lab.host) as kernel:
        kernel.add_veth(tap, "vm" + port_id[:11])
        kernel.set_link(tap, up=True)
    lab.ports[f"bare{index}"] = {
        "id": port_id, "device": tap, "network_id": NETWORK,
        "mac_address": f"fa:16:3e:00:01:{index:02x}", "admin_state_up": True,
        "status": "DOWN", "device_owner": "compute:nova", "revision_number": 1,
        "fixed_ips": [{"subnet_id": "s", "ip_address": f"10.0.1.{index + 1}"}],
        "allowed_address_pairs": [], "port_security_enabled": True,
        "security_groups": list(groups)}


def rules_with_handles(host: str) -> str:
    """Every rule of the filter tables with its nftables handle (iptables-nft keeps
    each rule as one nft rule: a rewritten chain gets new handles), counters left
    out (traffic changes them)."""
    text = ""
    for family in ("ip", "ip6"):
        text += subprocess.run(
            ["ip", "netns", "exec", host, "nft", "-a", "list", "table", family,
             "filter"], capture_output=True, text=True, check=True).stdout
    return re.sub(r"counter packets \d+ bytes \d+ ", "", text)


def test_membership_change_is_element_updates_and_traffic_follows(lab: Lab) -> None:
    lab.vm("a", "10.0.0.1", ("client",))
    lab.vm("b", "10.0.0.2", ("server",))
    lab.vm("c", "10.0.0.3", ("client",))
    for index in range(PORTS - 3):
        bare_port(lab, index, ("server",))
    server = {"rules": [*EGRESS_ANY, rule(protocol="icmp", remote_group_id="members")]}
    groups = {"client": CLIENT, "server": server}
    first = lab.apply(lab.desired(groups, remote_groups={"members": {"IPv4": ["10.0.0.1"]}}))
    assert first.filtered_ports == PORTS and first.sets_written == 1
    assert ping(lab.vms["a"], "10.0.0.2")
    assert not ping_once(lab.vms["c"], "10.0.0.2")
    before = rules_with_handles(lab.host)
    assert "neutrino-sg-chain" in before and "# handle" in before

    t0 = time.perf_counter()
    result = lab.firewall.apply(
        lab.desired(groups, remote_groups={"members": {"IPv4": ["10.0.0.3"]}}))
    took = time.perf_counter() - t0
    # One member in, one out; no set rebuilt, no chain read back nor written.
    assert (result.members_added, result.members_deleted) == (1, 1)
    assert (result.sets_written, result.chains_written, result.chains_deleted) == (0, 0, 0)
    assert not result.chains_checked
    assert rules_with_handles(lab.host) == before
    assert ping(lab.vms["c"], "10.0.0.2")
    assert not ping_once(lab.vms["a"], "10.0.0.2")
    print(f"membership change on {PORTS} ports applied in {took:.3f} s")

    # A rule change rewrites the chain it touches, the group's (one for every port
    # of the group), and only then.
    server["rules"].append(rule(protocol="tcp", ports=(22, 22)))
    changed = lab.firewall.apply(
        lab.desired(groups, remote_groups={"members": {"IPv4": ["10.0.0.3"]}}))
    assert changed.chains_checked and changed.chains_written == 1
    assert not (changed.members_added or changed.members_deleted)
