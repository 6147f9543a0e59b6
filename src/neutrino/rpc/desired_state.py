"""The desired state of a host (``get_desired_state``, docs/rpc.md).

Level-triggered agents ask for everything they must realise on their host and
reconcile to it. Each kind is built by one function of (session, host) in a fixed
number of queries whatever the number of ports (ids go in one array parameter on
PostgreSQL, large IN lists elsewhere: services/listing.py rows_for_ids), so the
state of a host with hundreds of ports costs a handful of round trips.

`BUILDERS` maps a kind to its builder; another kind (l3) is one more entry.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino.db import models
from neutrino.rpc import topics
from neutrino.rpc.qos_state import add_qos_rules  # QoS (issue 14)
from neutrino.services.dhcp_scheduler import dhcp_device_id
from neutrino.services.l3_state import l3_state
from neutrino.services.listing import rows_for_ids

P = models.Port
PB = models.PortBinding
IPA = models.IPAllocation
N = models.Network
NS = models.NetworkSegment
S = models.Subnet
A = models.Agent
SG = models.SecurityGroup
SGR = models.SecurityGroupRule
SGB = models.SecurityGroupPortBinding
PSB = models.PortSecurityBinding
AAP = models.AllowedAddressPair
AGA = models.AddressGroupAddress

Builder = Callable[[Session, str], dict]


def device_name(port_id: str) -> str:
    """The tap device a hypervisor plugs for a port (``tap<port-id[:11]>``)."""
    return f"tap{port_id[:11]}"


def ethertype(address: str) -> str:
    return "IPv6" if ":" in address else "IPv4"


def split_by_family(addresses: list[str]) -> dict[str, list[str]]:
    """{"IPv4": [...], "IPv6": [...]}, each sorted and without duplicates (pure)."""
    out: dict[str, set[str]] = {"IPv4": set(), "IPv6": set()}
    for address in addresses:
        out[ethertype(address)].add(address)
    return {family: sorted(values) for family, values in out.items()}


def pick_segment(segments: list[dict], bound_id: str | None) -> dict | None:
    """The segment a port is bound to, else the network's first (pure)."""
    if bound_id is not None:
        for segment in segments:
            if segment["id"] == bound_id:
                return segment
    return min(segments, key=lambda s: s["segment_index"]) if segments else None


def ips_by_port(session: Session, port_ids: list[str]) -> dict[str, list[dict]]:
    ips: dict[str, list[dict]] = defaultdict(list)
    stmt = select(IPA.port_id, IPA.subnet_id, IPA.ip_address)
    for port_id, subnet_id, ip in rows_for_ids(session, stmt, IPA.port_id, port_ids):
        ips[port_id].append({"subnet_id": subnet_id, "ip_address": ip})
    for values in ips.values():
        values.sort(key=lambda i: (i["subnet_id"], i["ip_address"]))
    return ips


def _segments(session: Session, network_ids: list[str]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = defaultdict(list)
    stmt = select(NS.id, NS.network_id, NS.network_type, NS.physical_network,
                  NS.segmentation_id, NS.segment_index)
    for row in rows_for_ids(session, stmt, NS.network_id, network_ids):
        out[row.network_id].append(dict(row._mapping))
    return out


def _tunnel_ips(session: Session, hosts: list[str]) -> dict[str, str | None]:
    """The `tunneling_ip` each host's Linux bridge agent reports (its local_ip)."""
    out: dict[str, str | None] = {}
    stmt = select(A.host, A.configurations).where(
        A.agent_type == topics.AGENT_TYPE_LINUXBRIDGE)
    for host, configurations in rows_for_ids(session, stmt, A.host, hosts):
        try:
            out[host] = (json.loads(configurations or "{}") or {}).get("tunneling_ip")
        except (ValueError, AttributeError):
            out[host] = None
    return out


# -- kind "l2" -------------------------------------------------------------------


def build_l2(session: Session, host: str) -> dict:
    """Ports bound to `host`, their networks (segment and peers), security groups,
    remote-group members and address groups."""
    rows = session.execute(
        select(P.id, P.network_id, P.mac_address, P.admin_state_up, P.status,
               P.device_owner, P.revision_number, PB.segment_id)
        .join(PB, PB.port_id == P.id).where(PB.host == host).order_by(P.id)).all()
    port_ids = [r.id for r in rows]
    ips = ips_by_port(session, port_ids)
    pairs: dict[str, list[dict]] = defaultdict(list)
    for port_id, ip, mac in rows_for_ids(
            session, select(AAP.port_id, AAP.ip_address, AAP.mac_address), AAP.port_id,
            port_ids):
        pairs[port_id].append({"ip_address": ip, "mac_address": mac})
    security = dict(rows_for_ids(session, select(PSB.port_id, PSB.port_security_enabled),
                                 PSB.port_id, port_ids))
    groups_of: dict[str, list[str]] = defaultdict(list)
    for port_id, group_id in rows_for_ids(
            session, select(SGB.port_id, SGB.security_group_id), SGB.port_id, port_ids):
        groups_of[port_id].append(group_id)

    ports = []
    bound_segment: dict[str, str | None] = {}
    for r in rows:
        bound_segment.setdefault(r.network_id, r.segment_id)
        ports.append({
            "id": r.id, "device": device_name(r.id), "revision_number": r.revision_number,
            "network_id": r.network_id, "mac_address": r.mac_address,
            "admin_state_up": r.admin_state_up, "status": r.status,
            "device_owner": r.device_owner, "fixed_ips": ips.get(r.id, []),
            "allowed_address_pairs": sorted(pairs.get(r.id, []),
                                            key=lambda p: (p["ip_address"],
                                                           p["mac_address"])),
            "port_security_enabled": bool(security.get(r.id, True)),
            "security_groups": sorted(groups_of.get(r.id, [])),
        })
    add_qos_rules(session, ports)  # QoS (issue 14)
    network_ids = sorted(bound_segment)
    group_ids = sorted({g for gs in groups_of.values() for g in gs})
    return {"host": host, "ports": ports,
            "networks": _l2_networks(session, host, network_ids, bound_segment),
            **_security(session, group_ids)}


def _l2_networks(session: Session, host: str, network_ids: list[str],
                 bound_segment: dict[str, str | None]) -> list[dict]:
    if not network_ids:
        return []
    segments = _segments(session, network_ids)
    # Other hosts' ports on these networks (and their addresses): the peers.
    peer_rows = rows_for_ids(
        session,
        select(P.network_id, PB.host, P.mac_address, IPA.ip_address)
        .join(PB, PB.port_id == P.id).outerjoin(IPA, IPA.port_id == P.id)
        .where(PB.host != host, PB.host != ""),
        P.network_id, network_ids)
    peers: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for network_id, peer_host, mac, ip in peer_rows:
        peers[network_id][peer_host].append({"mac_address": mac, "ip_address": ip})
    tunnels = _tunnel_ips(session, sorted({r.host for r in peer_rows}))
    out = []
    for row in rows_for_ids(session, select(N.id, N.revision_number, N.mtu), N.id,
                            network_ids):
        segment = pick_segment(segments.get(row.id, []), bound_segment.get(row.id)) or {}
        out.append({
            "id": row.id, "revision_number": row.revision_number, "mtu": row.mtu,
            "network_type": segment.get("network_type"),
            "physical_network": segment.get("physical_network"),
            "segmentation_id": segment.get("segmentation_id"),
            "peers": [{"host": peer_host, "tunnel_ip": tunnels.get(peer_host),
                       "macs": sorted(macs, key=lambda m: (m["mac_address"],
                                                           m["ip_address"] or ""))}
                      for peer_host, macs in sorted(peers[row.id].items())],
        })
    out.sort(key=lambda n: n["id"])
    return out


def _security(session: Session, group_ids: list[str]) -> dict[str, dict]:
    """security_groups, remote_groups and address_groups of the given groups."""
    groups: dict[str, dict] = {}
    for group_id, stateful, revision in rows_for_ids(
            session, select(SG.id, SG.stateful, SG.revision_number), SG.id, group_ids):
        groups[group_id] = {"stateful": bool(stateful), "revision_number": revision,
                            "rules": []}
    remote_ids: set[str] = set()
    address_group_ids: set[str] = set()
    stmt = select(SGR.id, SGR.security_group_id, SGR.direction, SGR.ethertype,
                  SGR.protocol, SGR.port_range_min, SGR.port_range_max,
                  SGR.remote_ip_prefix, SGR.remote_group_id, SGR.remote_address_group_id)
    for rule in rows_for_ids(session, stmt, SGR.security_group_id, group_ids):
        item = dict(rule._mapping)
        group = groups.get(item.pop("security_group_id"))
        if group is None:
            continue
        group["rules"].append(item)
        if item["remote_group_id"]:
            remote_ids.add(item["remote_group_id"])
        if item["remote_address_group_id"]:
            address_group_ids.add(item["remote_address_group_id"])
    for group in groups.values():
        group["rules"].sort(key=lambda r: r["id"])
    return {"security_groups": groups,
            "remote_groups": _members(session, sorted(remote_ids)),
            "address_groups": _address_groups(session, sorted(address_group_ids))}


def _members(session: Session, group_ids: list[str]) -> dict[str, dict[str, list[str]]]:
    """Per group: the fixed IPs and allowed address pairs of its ports."""
    addresses: dict[str, list[str]] = {g: [] for g in group_ids}
    for group_id, ip in rows_for_ids(
            session, select(SGB.security_group_id, IPA.ip_address)
            .join(IPA, IPA.port_id == SGB.port_id), SGB.security_group_id, group_ids):
        addresses[group_id].append(ip)
    for group_id, ip in rows_for_ids(
            session, select(SGB.security_group_id, AAP.ip_address)
            .join(AAP, AAP.port_id == SGB.port_id), SGB.security_group_id, group_ids):
        addresses[group_id].append(ip)
    return {g: split_by_family(ips) for g, ips in addresses.items()}


def _address_groups(session: Session, ids: list[str]) -> dict[str, dict[str, list[str]]]:
    addresses: dict[str, list[str]] = {g: [] for g in ids}
    for group_id, address in rows_for_ids(
            session, select(AGA.address_group_id, AGA.address), AGA.address_group_id, ids):
        addresses[group_id].append(address)
    return {g: split_by_family(a) for g, a in addresses.items()}


# -- kind "dhcp" -----------------------------------------------------------------


def build_dhcp(session: Session, host: str) -> dict:
    """Every network scheduled to `host`'s DHCP agent: subnets, ports (with extra
    DHCP options) and the agent's own port."""
    network_ids = list(session.scalars(
        select(models.NetworkDhcpAgentBinding.network_id)
        .join(A, A.id == models.NetworkDhcpAgentBinding.dhcp_agent_id)
        .where(A.agent_type == topics.AGENT_TYPE_DHCP, A.host == host)))
    if not network_ids:
        return {"host": host, "networks": []}
    subnets = _dhcp_subnets(session, network_ids)
    port_rows = rows_for_ids(
        session, select(P.id, P.network_id, P.mac_address, P.device_id, P.device_owner,
                        P.revision_number).order_by(P.id), P.network_id, network_ids)
    port_ids = [r.id for r in port_rows]
    ips = ips_by_port(session, port_ids)
    opts: dict[str, list[dict]] = defaultdict(list)
    EDO = models.ExtraDhcpOpt
    for port_id, name, value, version in rows_for_ids(
            session, select(EDO.port_id, EDO.opt_name, EDO.opt_value, EDO.ip_version),
            EDO.port_id, port_ids):
        opts[port_id].append({"opt_name": name, "opt_value": value, "ip_version": version})
    ports: dict[str, list[dict]] = defaultdict(list)
    dhcp_ports: dict[str, dict] = {}
    for r in port_rows:
        item = dhcp_port_dict(r, ips.get(r.id, []), opts.get(r.id, []))
        ports[r.network_id].append(item)
        if r.device_owner == "network:dhcp" and r.device_id == dhcp_device_id(
                host, r.network_id):
            dhcp_ports[r.network_id] = item
    networks = []
    for row in rows_for_ids(session, select(N.id, N.revision_number, N.mtu,
                                            N.admin_state_up), N.id, network_ids):
        networks.append({
            "id": row.id, "revision_number": row.revision_number, "mtu": row.mtu,
            "admin_state_up": row.admin_state_up, "subnets": subnets.get(row.id, []),
            "ports": ports.get(row.id, []), "dhcp_port": dhcp_ports.get(row.id)})
    networks.sort(key=lambda n: n["id"])
    return {"host": host, "networks": networks}


def dhcp_port_dict(row: Any, fixed_ips: list[dict], extra_dhcp_opts: list[dict]) -> dict:
    return {"id": row.id, "mac_address": row.mac_address, "fixed_ips": fixed_ips,
            "device_id": row.device_id, "device_owner": row.device_owner,
            "extra_dhcp_opts": sorted(extra_dhcp_opts,
                                      key=lambda o: (o["opt_name"], o["ip_version"])),
            "revision_number": row.revision_number}


def _dhcp_subnets(session: Session, network_ids: list[str]) -> dict[str, list[dict]]:
    rows = rows_for_ids(session, select(
        S.id, S.network_id, S.cidr, S.ip_version, S.gateway_ip, S.enable_dhcp,
        S.ipv6_ra_mode, S.ipv6_address_mode, S.revision_number).order_by(S.id),
        S.network_id, network_ids)
    ids = [r.id for r in rows]
    dns: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for subnet_id, address, order in rows_for_ids(
            session, select(models.DNSNameServer.subnet_id, models.DNSNameServer.address,
                            models.DNSNameServer.order),
            models.DNSNameServer.subnet_id, ids):
        dns[subnet_id].append((order, address))
    routes: dict[str, list[dict]] = defaultdict(list)
    HR = models.HostRoute
    for subnet_id, destination, nexthop in rows_for_ids(
            session, select(HR.subnet_id, HR.destination, HR.nexthop), HR.subnet_id, ids):
        routes[subnet_id].append({"destination": destination, "nexthop": nexthop})
    pools: dict[str, list[dict]] = defaultdict(list)
    AP = models.AllocationPool
    for subnet_id, first, last in rows_for_ids(
            session, select(AP.subnet_id, AP.first_ip, AP.last_ip).order_by(AP.id),
            AP.subnet_id, ids):
        pools[subnet_id].append({"start": first, "end": last})
    out: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        out[r.network_id].append({
            "id": r.id, "cidr": r.cidr, "ip_version": r.ip_version,
            "gateway_ip": r.gateway_ip, "enable_dhcp": r.enable_dhcp,
            "dns_nameservers": [a for _, a in sorted(dns.get(r.id, []))],
            "host_routes": sorted(routes.get(r.id, []),
                                  key=lambda h: (h["destination"], h["nexthop"])),
            "allocation_pools": pools.get(r.id, []),
            "ipv6_ra_mode": r.ipv6_ra_mode, "ipv6_address_mode": r.ipv6_address_mode,
            "revision_number": r.revision_number})
    return out


BUILDERS: dict[str, Builder] = {"l2": build_l2, "dhcp": build_dhcp, "l3": l3_state}


def desired_state(session: Session, host: str, kind: str) -> dict:
    builder = BUILDERS.get(kind)
    if builder is None:
        raise ValueError(f"unknown kind {kind!r}: one of {sorted(BUILDERS)}")
    return builder(session, host)
