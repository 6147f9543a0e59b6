"""The agents' view of links, read from `ip -j -d link show` (issue 17: pyroute2's
decoder cost seconds per 1,000 links): every field the reconcilers compare."""

from __future__ import annotations

import json

from neutrino.agent.common import privileged
from neutrino.agent.common.privileged import Link, Vlan, Vxlan, parse_links

DUMP = [
    {"ifindex": 1, "ifname": "lo", "flags": ["LOOPBACK", "UP", "LOWER_UP"], "mtu": 65536,
     "address": "00:00:00:00:00:00", "ifalias": "neutrino-dhcp"},
    {"ifindex": 2, "ifname": "brq1234", "flags": ["BROADCAST", "MULTICAST"], "mtu": 1450,
     "address": "1a:27:67:36:8d:f1", "linkinfo": {"info_kind": "bridge",
                                                  "info_data": {"stp_state": 0}}},
    {"ifindex": 3, "ifname": "vxlan-5", "flags": ["BROADCAST", "UP"], "mtu": 1450,
     "master": "brq1234", "address": "1a:27:67:36:8d:f2",
     "linkinfo": {"info_kind": "vxlan",
                  "info_data": {"id": 5, "local": "192.0.2.1", "port": 4789,
                                "learning": False},
                  "info_slave_kind": "bridge",
                  "info_slave_data": {"learning": True, "id": "0x8001"}}},
    {"ifindex": 4, "ifname": "eth0.7", "flags": ["UP"], "mtu": 1500, "link": "eth0",
     "address": "02:00:00:00:00:07",
     "linkinfo": {"info_kind": "vlan", "info_data": {"protocol": "802.1Q", "id": 7}}},
    {"ifindex": 5, "ifname": "ipsec0", "flags": ["POINTOPOINT", "UP"], "mtu": 1400,
     "link_type": "none"},
]


def test_every_field_the_reconcilers_compare() -> None:
    links = parse_links(json.dumps(DUMP))
    assert links["lo"] == Link(name="lo", index=1, kind=None, master=None, mtu=65536,
                               up=True, mac="00:00:00:00:00:00", alias="neutrino-dhcp")
    assert links["brq1234"].kind == "bridge" and links["brq1234"].up is False
    assert links["vxlan-5"].master == "brq1234"
    # The bridge port's own data (learning true) is not the vxlan device's.
    assert links["vxlan-5"].vxlan == Vxlan(vni=5, local="192.0.2.1", port=4789,
                                           learning=False)
    assert links["eth0.7"].vlan == Vlan(parent="eth0", vlan_id=7)
    assert links["ipsec0"].mac is None and links["ipsec0"].alias is None


def test_nothing_answered_is_no_links() -> None:
    assert parse_links("") == {} and parse_links("[]") == {}


def test_parse_remote_fdb_keeps_permanent_entries_with_a_vtep() -> None:
    # As `bridge -j fdb show dev vx1` prints them (iproute2 6.1).
    text = ('[{"mac":"fa:16:3e:00:00:09","flags":[],"master":"br1","state":"static"},'
            '{"mac":"96:8f:fb:94:19:0c","flags":[],"master":"br1","state":"permanent"},'
            '{"mac":"fa:16:3e:00:00:01","dst":"192.0.2.6","flags":["self"],'
            '"state":"permanent"},'
            '{"mac":"00:00:00:00:00:00","dst":"192.0.2.5","flags":["self"],'
            '"state":"permanent"},'
            '{"mac":"fa:16:3e:00:00:02","dst":"192.0.2.7","flags":["self"],"state":""}]')
    assert privileged.parse_remote_fdb(text) == {
        privileged.FdbEntry("fa:16:3e:00:00:01", "192.0.2.6"),
        privileged.FdbEntry("00:00:00:00:00:00", "192.0.2.5")}
    assert privileged.parse_remote_fdb("") == set()
