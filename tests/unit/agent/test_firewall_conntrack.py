"""Which tracked connections the firewall cuts after a change (pure): entries are
re-validated against the rendered chains of the ports they leave or enter."""

from __future__ import annotations

from hypothesis import given, settings

from neutrino.agent.firewall import conntrack, render
from neutrino.agent.firewall.conntrack import Entry
from unit.agent.test_firewall_render import SG, port, rule, state, states

B_ID = "bbbbbbbb-1111-2222-3333-444444444444"
VM, OTHER, REMOTE = "10.0.0.5", "10.0.0.6", "192.0.2.9"


def tcp(src: str, dst: str, dport: int, sport: int = 40000) -> Entry:
    version = 6 if ":" in src else 4
    return Entry(version, 6, src, dst, sport=sport, dport=dport)


def icmp(src: str, dst: str, kind: int = 8, code: int = 0) -> Entry:
    version = 6 if ":" in src else 4
    return Entry(version, 1 if version == 4 else 58, src, dst, icmp_type=kind,
                 icmp_code=code, icmp_id=7)


def stale(desired: dict, *entries: Entry) -> list[Entry]:
    return conntrack.stale(desired, entries)


def ssh(**extra: object) -> dict:
    return rule(protocol="tcp", port_range_min=22, port_range_max=22, **extra)


def test_ingress_allowed_by_a_rule_is_kept_the_others_cut() -> None:
    desired = state([port()], [ssh()])
    kept, cut = tcp(REMOTE, VM, 22), tcp(REMOTE, VM, 80)
    assert stale(desired, kept, cut) == [cut]
    # The rule removed: the SSH connection goes too.
    assert stale(state([port()], []), kept, cut) == [kept, cut]


def test_egress_checked_by_egress_rules() -> None:
    out = tcp(VM, REMOTE, 443)
    assert stale(state([port()], [rule("egress")]), out) == []
    assert stale(state([port()], [rule("egress", protocol="udp")]), out) == [out]
    # An ingress rule does not allow an egress flow.
    assert stale(state([port()], [rule(protocol="tcp")]), out) == [out]


def test_port_ranges_and_protocols() -> None:
    desired = state([port()], [
        rule(protocol="tcp", port_range_min=1000, port_range_max=2000),
        rule(protocol="17"),                                  # udp by number
        rule(protocol="udplite", port_range_min=5, port_range_max=6),
        rule(protocol="gre")])
    entries = [tcp(REMOTE, VM, 1000), tcp(REMOTE, VM, 2000), tcp(REMOTE, VM, 2001),
               tcp(REMOTE, VM, 999), Entry(4, 17, REMOTE, VM, 1, 53),
               Entry(4, 136, REMOTE, VM, 1, 6), Entry(4, 136, REMOTE, VM, 1, 7),
               Entry(4, 47, REMOTE, VM), Entry(4, 112, REMOTE, VM)]
    assert stale(desired, *entries) == [tcp(REMOTE, VM, 2001), tcp(REMOTE, VM, 999),
                                        Entry(4, 136, REMOTE, VM, 1, 7),
                                        Entry(4, 112, REMOTE, VM)]


def test_any_protocol_rule_allows_everything() -> None:
    desired = state([port()], [rule(protocol="any")])
    assert stale(desired, tcp(REMOTE, VM, 1), icmp(REMOTE, VM),
                 Entry(4, 47, REMOTE, VM)) == []


def test_icmp_type_and_code() -> None:
    echo_only = state([port()], [rule(protocol="icmp", port_range_min=8,
                                      port_range_max=0)])
    assert stale(echo_only, icmp(REMOTE, VM)) == []
    assert stale(echo_only, icmp(REMOTE, VM, 13)) == [icmp(REMOTE, VM, 13)]
    any_code = state([port()], [rule(protocol="icmp", port_range_min=8)])
    assert stale(any_code, icmp(REMOTE, VM, 8, 0)) == []
    assert stale(state([port()], [rule(protocol="tcp")]), icmp(REMOTE, VM)) == [
        icmp(REMOTE, VM)]


def test_remote_prefix() -> None:
    desired = state([port()], [ssh(remote_ip_prefix="192.0.2.0/24"),
                               rule("egress", remote_ip_prefix="198.51.100.7")])
    assert stale(desired, tcp(REMOTE, VM, 22), tcp("203.0.113.1", VM, 22),
                 tcp(VM, "198.51.100.7", 80), tcp(VM, "198.51.100.8", 80)) == [
        tcp("203.0.113.1", VM, 22), tcp(VM, "198.51.100.8", 80)]


def test_remote_group_membership() -> None:
    desired = state([port()], [ssh(remote_group_id="g")],
                    remote_groups={"g": {"IPv4": ["10.0.0.7", "10.9.0.0/16"]}})
    assert stale(desired, tcp("10.0.0.7", VM, 22), tcp("10.9.3.3", VM, 22),
                 tcp("10.0.0.8", VM, 22)) == [tcp("10.0.0.8", VM, 22)]
    # A member leaves the group: its connection is cut.
    desired["remote_groups"] = {"g": {"IPv4": ["10.9.0.0/16"]}}
    assert stale(desired, tcp("10.0.0.7", VM, 22)) == [tcp("10.0.0.7", VM, 22)]


def test_address_group() -> None:
    desired = state([port()], [rule("egress", remote_address_group_id="ag")],
                    address_groups={"ag": {"IPv4": ["192.0.2.0/28"], "IPv6": []}})
    assert stale(desired, tcp(VM, "192.0.2.3", 80), tcp(VM, "192.0.2.30", 80)) == [
        tcp(VM, "192.0.2.30", 80)]


def test_ipv6() -> None:
    vm6 = "2001:db8::5"
    desired = state([port(ips=(VM, vm6))],
                    [rule(ethertype="IPv6", protocol="icmp"),
                     ssh(ethertype="IPv6", remote_ip_prefix="2001:db8:1::/48")])
    entries = [icmp("2001:db8::9", vm6, 128), tcp("2001:db8:1::1", vm6, 22),
               tcp("2001:db8:2::1", vm6, 22), tcp(REMOTE, VM, 22)]
    assert stale(desired, *entries) == entries[2:]
    # ... and the port's link-local address counts as the port's.
    link_local = str(render.link_local(port()["mac_address"]).network_address)
    assert stale(desired, tcp("fe80::1", link_local, 80)) == [
        tcp("fe80::1", link_local, 80)]


def test_dhcp_and_neighbour_discovery_basics_always_allowed() -> None:
    desired = state([port(ips=(VM, "2001:db8::5"))], [])
    allowed = [Entry(4, 17, VM, "10.0.0.2", 68, 67), Entry(4, 17, "10.0.0.2", VM, 67, 68),
               Entry(6, 17, "2001:db8::5", "2001:db8::2", 546, 547),
               Entry(6, 17, "2001:db8::2", "2001:db8::5", 547, 546),
               icmp("2001:db8::5", "2001:db8::2", 135)]
    assert stale(desired, *allowed) == []
    # A DHCP server in the VM is dropped whatever the rules say.
    server = Entry(4, 17, VM, "10.0.0.9", 67, 68)
    assert stale(state([port()], [rule("egress")]), server) == [server]


def test_port_security_off_and_trusted_ports_never_cut() -> None:
    entries = [tcp(REMOTE, VM, 22), tcp(VM, REMOTE, 22)]
    assert stale(state([port(port_security_enabled=False)], []), *entries) == []
    assert stale(state([port(device_owner="network:dhcp")], []), *entries) == []


def test_unrelated_addresses_never_cut() -> None:
    desired = state([port()], [])
    assert stale(desired, tcp(REMOTE, "192.0.2.10", 22), tcp("10.0.0.50", REMOTE, 1),
                 Entry(4, 6, "not-an-ip", VM)) == []


def test_allowed_address_pairs_count_as_the_port_but_not_a_zero_prefix() -> None:
    pairs = [{"ip_address": "10.0.0.100", "mac_address": None},
             {"ip_address": "10.1.0.0/24", "mac_address": None},
             {"ip_address": "0.0.0.0/0", "mac_address": None}]
    desired = state([port(allowed_address_pairs=pairs)], [])
    assert stale(desired, tcp(REMOTE, "10.0.0.100", 22), tcp("10.1.0.9", REMOTE, 22),
                 tcp(REMOTE, "192.0.2.77", 22)) == [
        tcp(REMOTE, "10.0.0.100", 22), tcp("10.1.0.9", REMOTE, 22)]
    assert conntrack.watched(desired) == {
        4: [VM, "10.0.0.100", "10.1.0.0/24"],
        6: [str(render.link_local(port()["mac_address"]).network_address)]}


def test_two_local_ports_both_sides_must_allow() -> None:
    a, b = port(), port(B_ID, "fa:16:3e:00:00:02", (OTHER,), ("server",))
    flow = tcp(VM, OTHER, 22)
    groups = {SG: {"stateful": True, "revision_number": 1, "rules": [rule("egress")]},
              "server": {"stateful": True, "revision_number": 1, "rules": [ssh()]}}
    desired = dict(state([a, b], []), security_groups=groups)
    assert stale(desired, flow, flow) == []             # listed twice: once each
    groups["server"]["rules"] = []                      # b refuses
    assert stale(desired, flow, flow) == [flow]
    groups["server"]["rules"], groups[SG]["rules"] = [ssh()], []   # a refuses
    assert stale(desired, flow) == [flow]


def test_stateless_ports_not_cut() -> None:
    desired = state([port()], [], stateful=False)
    assert stale(desired, tcp(REMOTE, VM, 22), tcp(VM, REMOTE, 22)) == []
    assert conntrack.watched(desired) == {4: [], 6: []}
    # A stateful port talking to a stateless one is still checked on its side.
    b = port(B_ID, "fa:16:3e:00:00:02", (OTHER,), ("open",))
    mixed = dict(state([port(), b], [], stateful=False),
                 security_groups={SG: {"stateful": False, "rules": []},
                                  "open": {"stateful": True, "rules": []}})
    assert stale(mixed, tcp(VM, OTHER, 22)) == [tcp(VM, OTHER, 22)]


def test_unknown_rule_options_keep_the_connection() -> None:
    entry = tcp(REMOTE, VM, 22)
    assert conntrack.allows(["-A c -m foo --bar 1 -j RETURN", "-A c -j DROP"],
                            entry, {}) is True
    assert conntrack.allows(["-A c -m foo --bar 1 -j DROP", "-A c -j DROP"],
                            entry, {}) is False
    assert conntrack.allows(["-A c -p tcp -m set --match-set NOPE src -j RETURN",
                             "-A c -j DROP"], entry, {}) is True


# -- conntrack's text -------------------------------------------------------------------

LISTING = """\
ipv4     2 tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=22 \
src=10.0.0.2 dst=10.0.0.1 sport=22 dport=40000 [ASSURED] mark=0 use=1
ipv4     2 icmp     1 29 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=23858 \
src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=23858 mark=0 use=1
ipv6     10 udp      17 29 src=2001:db8::1 dst=2001:db8::2 sport=5 dport=53 [UNREPLIED] \
src=2001:db8::2 dst=2001:db8::1 sport=53 dport=5 mark=0 use=1
ipv4     2 unknown  47 599 src=10.0.0.1 dst=10.0.0.2 src=10.0.0.2 dst=10.0.0.1 mark=0 use=1
conntrack v1.4.7 (conntrack-tools): 4 flow entries have been shown.
"""


def test_parse_extended_listing() -> None:
    assert conntrack.parse(LISTING) == [
        Entry(4, 6, "10.0.0.1", "10.0.0.2", sport=40000, dport=22),
        Entry(4, 1, "10.0.0.1", "10.0.0.2", icmp_type=8, icmp_code=0, icmp_id=23858),
        Entry(6, 17, "2001:db8::1", "2001:db8::2", sport=5, dport=53),
        Entry(4, 47, "10.0.0.1", "10.0.0.2")]


def test_delete_batch_names_the_whole_original_tuple() -> None:
    assert conntrack.delete_batch(conntrack.parse(LISTING)) == (
        "-D -f ipv4 -s 10.0.0.1 -d 10.0.0.2 -p 6 --sport 40000 --dport 22\n"
        "-D -f ipv4 -s 10.0.0.1 -d 10.0.0.2 -p icmp --icmp-type 8 --icmp-code 0 "
        "--icmp-id 23858\n"
        "-D -f ipv6 -s 2001:db8::1 -d 2001:db8::2 -p 17 --sport 5 --dport 53\n"
        "-D -f ipv4 -s 10.0.0.1 -d 10.0.0.2 -p 47\n")
    assert conntrack.delete_batch([icmp("2001:db8::1", "2001:db8::2", 128)]) == (
        "-D -f ipv6 -s 2001:db8::1 -d 2001:db8::2 -p icmpv6 --icmpv6-type 128 "
        "--icmpv6-code 0 --icmpv6-id 7\n")


# -- properties ---------------------------------------------------------------------------

@settings(max_examples=100, deadline=None)
@given(states())
def test_any_state_any_port_address(desired: dict) -> None:
    """Every chain rendered for random states is understood well enough to decide,
    and a connection of a filtered stateful port's own address to itself or an
    unrelated one is decided without error; unfiltered ports are never cut."""
    ruleset = render.render(desired)
    entries = []
    for p in desired["ports"]:
        for fixed in p["fixed_ips"]:
            address = fixed["ip_address"]
            remote = "192.0.2.1" if ":" not in address else "2001:db8:ffff::1"
            entries += [tcp(remote, address, 22), tcp(address, remote, 22),
                        icmp(remote, address)]
    cut = conntrack.stale(desired, entries, ruleset)
    assert len(cut) == len(set(cut)) and set(cut) <= set(entries)
    checked = {a for v, addrs in conntrack.watched(desired).items() for a in addrs}
    for entry in cut:
        assert entry.src in checked or entry.dst in checked
    # Every option of the ingress and egress chains is understood.
    sets = {name: [] for name in ruleset.ipsets}
    for version in render.VERSIONS:
        for name, lines in ruleset.chains[version].items():
            if name.startswith((render.INGRESS_PREFIX, render.EGRESS_PREFIX)):
                for line in lines:
                    if " -j NFLOG " in line:
                        # A log rule: no verdict, `allows` passes over it.
                        assert line.split()[-2] != "-j"
                        continue
                    options = line.split()[2:-2]
                    assert conntrack.matches(options, entries[0] if entries else
                                             tcp("192.0.2.1", "192.0.2.2", 1),
                                             sets) is not None, line


# -- the driver's use of it ----------------------------------------------------------------

def test_firewall_revalidates_on_first_apply_and_on_changes_only(monkeypatch) -> None:
    from neutrino.agent.common import privileged
    from neutrino.agent.firewall import driver

    listed: list[tuple[int, tuple[str, ...]]] = []
    deleted: list[str] = []
    changes = iter([driver.ApplyResult(), driver.ApplyResult(),
                    driver.ApplyResult(sets_written=1), driver.ApplyResult(),
                    driver.ApplyResult(chains_written=2)])
    monkeypatch.setattr(driver.Firewall, "apply_ruleset",
                        lambda self, ruleset, arp_table: next(changes))

    def listing(version: int, addresses: list[str], namespace: str | None) -> str:
        listed.append((version, tuple(addresses)))
        return LISTING.replace("10.0.0.2", VM) if version == 4 else ""

    monkeypatch.setattr(privileged, "conntrack_list", listing)
    monkeypatch.setattr(privileged, "conntrack_delete",
                        lambda batch, namespace: deleted.append(batch))
    firewall = driver.Firewall("ns")
    desired = state([port()], [rule(protocol="icmp")])
    first = firewall.apply(desired)        # first apply: always
    assert first.conntrack_deleted == 2 and len(deleted) == 1   # tcp/22 and gre
    assert listed[0] == (4, (VM,))
    assert firewall.apply(desired).conntrack_deleted == 0       # nothing changed
    assert len(listed) == 2                                     # one per IP version
    assert firewall.apply(desired).conntrack_deleted == 2       # a set changed

    def broken(*args: object) -> str:
        raise privileged.CommandError(["conntrack"], 1, "no conntrack")

    monkeypatch.setattr(privileged, "conntrack_list", broken)
    assert firewall.apply(desired).conntrack_deleted == 0       # unchanged: not run
    assert firewall.apply(desired).conntrack_deleted == 0       # failed: logged only
