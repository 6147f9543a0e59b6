"""``neutrino trace --live``: what this host's kernel holds for the ports of a trace
that are bound here, compared with the API (read-only; root):

    bridge     tap<port[:11]> exists, is up and in brq<net[:11]>
    firewall   a filtered port has its chains (neutrino-i/-o<port[:10]>, with the group
               chain they go to read inline) holding one rule per security group rule
               of the API, rendered as the agent renders them
               (agent/firewall/render.py); a remote group's set holds the peer
    nat        the floating IP's DNAT in its router's namespace (qrouter-<id>), when
               that router lives on this host

The comparisons (`bridge_hops`, `firewall_hops`, `nat_hop`) are pure: kernel text in,
hops out; `check` reads the kernel through the agent's privileged module."""

from __future__ import annotations

from typing import Any

from neutrino.agent.common import privileged
from neutrino.agent.common.privileged import Kernel, Link
from neutrino.agent.firewall import driver as fw_driver
from neutrino.agent.firewall import render
from neutrino.agent.l3 import nat
from neutrino.cli import trace_logic as logic
from neutrino.contract import names

OK, WARN, BLOCKED = logic.OK, logic.WARN, logic.BLOCKED
CHAIN_OF = {"ingress": render.INGRESS_PREFIX, "egress": render.EGRESS_PREFIX}


def _step(port: dict[str, Any], what: str) -> str:
    return f"live {what} {port.get('name') or port['id'][:11]}"


def bridge_hops(port: dict[str, Any], links: dict[str, Link]) -> list[logic.Hop]:
    step = _step(port, "bridge")
    tap, bridge = names.tap_device(port["id"]), names.bridge(port["network_id"])
    link = links.get(tap)
    if link is None:
        return [logic.Hop(step, BLOCKED, f"{tap} is not on this host: the port is not "
                                         "plugged here")]
    if link.master != bridge:
        return [logic.Hop(step, BLOCKED, f"{tap} is not in {bridge} (master: "
                                         f"{link.master or 'none'}): the agent has not "
                                         "wired it")]
    if not link.up or not (links.get(bridge) and links[bridge].up):
        return [logic.Hop(step, WARN, f"{tap} in {bridge}, but a link is down")]
    return [logic.Hop(step, OK, f"{tap} in {bridge}, up")]


def expected_rules(port: dict[str, Any], groups: dict[str, dict[str, Any]],
                   direction: str, version: int) -> dict[str, str]:
    """rule id -> the canonical iptables line the agent writes for it."""
    chain = render.port_chain(CHAIN_OF[direction], port["id"])
    out: dict[str, str] = {}
    for group_id in port.get("security_groups") or []:
        for rule in (groups.get(group_id) or {}).get("security_group_rules") or []:
            if rule.get("direction") != direction:
                continue
            matches = render.rule_matches(_contract_rule(rule), version)
            if matches is not None:
                out[rule["id"]] = render.canonical(
                    f"-A {chain} {' '.join([*matches, '-j', 'RETURN'])}")
    return out


def _contract_rule(rule: dict[str, Any]) -> Any:
    keys = ("id", "direction", "ethertype", "protocol", "port_range_min",
            "port_range_max", "remote_ip_prefix", "remote_group_id",
            "remote_address_group_id")
    return {key: rule.get(key) for key in keys}


def firewall_hops(port: dict[str, Any], groups: dict[str, dict[str, Any]], version: int,
                  saved: str, ipsets: str, used: dict[str, str]) -> list[logic.Hop]:
    """`saved`: iptables-save (or ip6tables-save) output; `ipsets`: ipset save;
    `used`: rule id -> peer address, for the rules the trace's verdict rests on."""
    step = _step(port, "firewall")
    tables = fw_driver.parse_iptables_save(saved)
    chains = {d: render.port_chain(CHAIN_OF[d], port["id"]) for d in CHAIN_OF}
    filtered = port.get("port_security_enabled", True) and not (
        port.get("device_owner") or "").startswith("network:")
    if not filtered:
        present = [c for c in chains.values() if c in tables.chains]
        if present:
            return [logic.Hop(step, WARN, f"chains {', '.join(present)} exist for a port "
                                          "the API does not filter")]
        return [logic.Hop(step, OK, "unfiltered, and no chains here")]
    hops: list[logic.Hop] = []
    for direction, chain in chains.items():
        if chain not in tables.chains:
            hops.append(logic.Hop(step, BLOCKED, f"chain {chain} is missing: the port's "
                                                 f"{direction} rules are not applied"))
            continue
        # The port chain as a packet meets it: its group chain (`-g`) read inline.
        have = set(render.walk(tables.chains, chain))
        for rule_id, line in expected_rules(port, groups, direction, version).items():
            if line not in have:
                verdict = BLOCKED if rule_id in used else WARN
                hops.append(logic.Hop(step, verdict, f"rule {rule_id} ({direction}) is "
                                                     f"in the API but not in {chain}: "
                                                     f"expected `{line}`", rule_id))
    sets = fw_driver.parse_ipset_save(ipsets)
    for rule_id, peer in used.items():
        rule = _rule(groups, rule_id)
        if rule is None or not rule.get("remote_group_id") or not peer:
            continue
        name = render.set_name(render.REMOTE_GROUP_SET_PREFIX, version,
                               rule["remote_group_id"])
        members = sets[name].members if name in sets else frozenset()
        if not any(_in(peer, member) for member in members):
            hops.append(logic.Hop(step, BLOCKED, f"set {name} (members of group "
                                                 f"{rule['remote_group_id']}) lacks "
                                                 f"{peer}", rule_id))
    if not hops:
        hops.append(logic.Hop(step, OK, f"chains {', '.join(chains.values())} hold every "
                                        "rule of the port's groups"))
    return hops


def nat_hop(fip: dict[str, Any], listing: str | None) -> logic.Hop:
    step = f"live nat {fip['floating_ip_address']}"
    if listing is None:
        return logic.Hop(step, BLOCKED, f"no {nat.TABLE} table in router "
                                        f"{fip['router_id']}'s namespace")
    held = nat.mappings(listing).get(fip["floating_ip_address"])
    if held != fip.get("fixed_ip_address"):
        return logic.Hop(step, BLOCKED, f"the API maps {fip['floating_ip_address']} → "
                                        f"{fip.get('fixed_ip_address')}; the kernel "
                                        f"{'→ ' + held if held else 'has no DNAT for it'}")
    return logic.Hop(step, OK, f"DNAT {fip['floating_ip_address']} → {held} in place")


def _rule(groups: dict[str, dict[str, Any]], rule_id: str) -> dict[str, Any] | None:
    for group in groups.values():
        for rule in group.get("security_group_rules") or []:
            if rule["id"] == rule_id:
                return dict(rule)
    return None


def _in(address: str, member: str) -> bool:
    import ipaddress
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(member, strict=False)
    except ValueError:
        return False


def used_rules(result: logic.Trace, src: logic.Endpoint, dst: logic.Endpoint
               ) -> dict[str, str]:
    """rule id -> the peer address the rule must match, for the allowing rules."""
    out: dict[str, str] = {}
    for hop in result.hops:
        if hop.rule_id:
            out[hop.rule_id] = src.address if hop.step.startswith("ingress") else dst.address
    return out


def check(src: logic.Endpoint, dst: logic.Endpoint, result: logic.Trace,
          world: logic.World, host: str, netns: str | None) -> list[logic.Hop]:
    """The live hops for the trace's ports bound to `host`, read in `netns` (None:
    this namespace), and its floating IPs whose router namespace is here."""
    if not privileged.is_root():
        return [logic.Hop("live", BLOCKED, "--live needs root (reads iptables, ipset, "
                                           "nft and links)")]
    used = used_rules(result, src, dst)
    hops: list[logic.Hop] = []
    ports = [e for e in (src, dst) if e.port and e.port.get("binding:host_id") == host]
    if not ports:
        hops.append(logic.Hop("live", WARN, f"neither port is bound to {host}: nothing "
                                            "to compare here (run it on their host)"))
    with Kernel(netns) as kernel:
        links = kernel.links()
    for endpoint in ports:
        assert endpoint.port is not None
        version = 6 if ":" in endpoint.address else 4
        hops += bridge_hops(endpoint.port, links)
        hops += firewall_hops(endpoint.port, world.security_groups, version,
                              privileged.iptables_save(version == 6, netns),
                              privileged.ipset_save(netns), used)
    fip = dst.floatingip
    if fip is not None and fip.get("router_id"):
        ns = names.router_namespace(fip["router_id"])
        if privileged.namespace_exists(ns):
            hops.append(nat_hop(fip, privileged.nft_list_table("ip", nat.TABLE, ns)))
        else:
            hops.append(logic.Hop(f"live nat {fip['floating_ip_address']}", OK,
                                  f"{ns} is not on this host: its L3 agent's host holds "
                                  "the NAT"))
    return hops
