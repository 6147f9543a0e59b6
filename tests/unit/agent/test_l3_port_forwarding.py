"""Port forwardings in the router NAT table (agent/l3/nat.py, pure) and the router
plan (agent/l3/plan.py): the rules for single ports, N:1 and N:N ranges, what is
left out, the gateway carrying the floating address, the forwardings read back
from the kernel's listing (as nft prints them) and the connections to cut."""

from __future__ import annotations

from neutrino.agent.firewall.conntrack import Entry
from neutrino.agent.l3 import nat, plan

from .test_l3_nat import NO_METADATA, QG, fip, rendered, router


def pf(protocol: str = "tcp", ext: tuple[int, int] = (8080, 8080),
       internal: tuple[int, int] = (80, 80), ip: str = "10.0.0.5",
       pid: str = "pf1") -> dict:
    return {"id": pid, "protocol": protocol, "external_port_start": ext[0],
            "external_port_end": ext[1], "internal_ip_address": ip,
            "internal_port_start": internal[0], "internal_port_end": internal[1]}


def forwarding_fip(floating: str, *pfs: dict) -> dict:
    return dict(fip(floating, None), port_forwardings=list(pfs))


def test_single_port_and_ranges_render_exactly() -> None:
    r = router(fips=[forwarding_fip(
        "172.24.4.10", pf(), pf("udp", (9000, 9002), (53, 53), pid="pf2"),
        pf("tcp", (7000, 7002), (8000, 8002), pid="pf3"))])
    rules = nat.chains(r, NO_METADATA)
    dnat = ["ip daddr 172.24.4.10 tcp dport 7000-7002 dnat to ip daddr . tcp dport map "
            "{ 172.24.4.10 . 7000 : 10.0.0.5 . 8000, 172.24.4.10 . 7001 : 10.0.0.5 . 8001, "
            "172.24.4.10 . 7002 : 10.0.0.5 . 8002 }",
            "ip daddr 172.24.4.10 tcp dport 8080 dnat to 10.0.0.5:80",
            "ip daddr 172.24.4.10 udp dport 9000-9002 dnat to 10.0.0.5:53"]
    assert rules["prerouting"] == dnat
    assert rules["output"] == dnat
    # The hairpin SNAT (enable_snat) brings an internal VM's connection back.
    assert rules["postrouting"][-1] == f'iifname != "{QG}" ct status dnat snat to 172.24.4.67'
    table = rendered(r)
    assert table.forwarded == {
        nat.Forwarded("172.24.4.10", "tcp", 8080, 8080, "10.0.0.5:80"),
        nat.Forwarded("172.24.4.10", "udp", 9000, 9002, "10.0.0.5:53"),
        nat.Forwarded("172.24.4.10", "tcp", 7000, 7002, "map")}
    assert table.mappings == {}


def test_left_out() -> None:
    bad = [pf("icmp"), pf(ext=(10, 12), internal=(20, 21)), pf(ip="fd00::5"),
           pf(ext=(0, 0))]
    assert nat.forwardings(router(fips=[forwarding_fip("172.24.4.10", *bad)])) == []
    # no IPv4 gateway: nothing carries them
    assert nat.render(router(gateway=None, fips=[forwarding_fip("172.24.4.10", pf())]),
                      NO_METADATA) is None
    # a floating IP associated to a port is mapped whole, its forwardings ignored
    both = dict(fip("172.24.4.11", "10.0.0.9"), port_forwardings=[pf()])
    rules = nat.chains(router(fips=[both]), NO_METADATA)
    assert rules["prerouting"] == ["ip daddr 172.24.4.11 dnat to 10.0.0.9"]


def test_digest_changes_with_a_forwarding() -> None:
    one = rendered(router(fips=[forwarding_fip("172.24.4.10", pf())]))
    other = rendered(router(fips=[forwarding_fip("172.24.4.10", pf(internal=(81, 81)))]))
    assert one.comment != other.comment
    assert one.comment == rendered(router(fips=[forwarding_fip("172.24.4.10", pf())])).comment


def test_gateway_carries_the_forwarded_address_and_reports_it() -> None:
    r = router(fips=[forwarding_fip("172.24.4.10", pf()), fip("172.24.4.20", None)])
    spec = plan.router_spec(r, plan.Settings())
    assert "172.24.4.10/32" in spec.devices[QG].addresses
    assert "172.24.4.20/32" not in spec.devices[QG].addresses
    assert spec.floating_ips == ("fip-172.24.4.10",)
    # without forwardings it is neither carried nor on the gateway
    spec = plan.router_spec(router(fips=[forwarding_fip("172.24.4.10")]), plan.Settings())
    assert "172.24.4.10/32" not in spec.devices[QG].addresses
    assert spec.floating_ips == ()


KERNEL_LISTING = """table ip neutrino-nat {
	comment "neutrino sha256=0123456789abcdef"
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr 172.24.4.10 tcp dport 8080 dnat to 10.0.0.5:80
		ip daddr 172.24.4.10 tcp dport 7000-7001 dnat ip to ip daddr . tcp dport map { 172.24.4.10 . 7000 : 10.0.0.5 . 8000, 172.24.4.10 . 7001 : 10.0.0.5 . 8001 }
		ip daddr 172.24.4.30 dnat to 10.0.0.7
	}
}
"""  # noqa: E501 - as nft prints it


def test_forwarded_read_back_from_the_kernel() -> None:
    have = nat.forwarded(KERNEL_LISTING)
    assert have == {nat.Forwarded("172.24.4.10", "tcp", 8080, 8080, "10.0.0.5:80"),
                    nat.Forwarded("172.24.4.10", "tcp", 7000, 7001, "map")}
    # the 1:1 mapping parser is not confused by the forwardings
    assert nat.mappings(KERNEL_LISTING) == {"172.24.4.30": "10.0.0.7"}
    want = rendered(router(fips=[forwarding_fip(
        "172.24.4.10", pf(), pf(ext=(7000, 7001), internal=(8000, 8001), pid="2"))]))
    assert have - want.forwarded == set()
    moved = rendered(router(fips=[forwarding_fip("172.24.4.10", pf(internal=(22, 22)))]))
    assert have - moved.forwarded == have


def test_connections_to_cut() -> None:
    gone = [nat.Forwarded("172.24.4.10", "tcp", 7000, 7001, "map")]
    entries = [Entry(4, 6, "198.51.100.9", "172.24.4.10", 40000, 7001),   # cut
               Entry(4, 6, "198.51.100.9", "172.24.4.10", 40001, 8080),   # other port
               Entry(4, 17, "198.51.100.9", "172.24.4.10", 40002, 7000),  # udp
               Entry(4, 6, "198.51.100.9", "172.24.4.11", 40003, 7000),   # other address
               Entry(4, 6, "198.51.100.9", "172.24.4.10", 40000, 7001)]   # twice
    assert nat.forwardings_to_cut(entries, gone) == [entries[0]]
