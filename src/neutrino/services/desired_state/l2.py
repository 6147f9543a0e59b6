"""The desired state kind "l2" (contract/l2.py): ports bound to a host, their
networks (segment and peers), security groups, remote-group members and address
groups, for the Linux bridge agent and its firewall."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino.contract import names
from neutrino.contract.common import AddressesByFamily
from neutrino.contract.l2 import (
    AddressPair,
    L2Network,
    L2Port,
    L2State,
    Peer,
    PeerMac,
    SecurityGroup,
    SecurityGroupRule,
)
from neutrino.db import models
from neutrino.db.listing import rows_for_ids
from neutrino.services.desired_state.common import (
    ips_by_port,
    pick_segment,
    segments_of,
    split_by_family,
    tunnel_ips,
)
from neutrino.services.desired_state.logs import add_logs
from neutrino.services.desired_state.qos import add_qos_rules
from neutrino.services.desired_state.trunk import add_trunks

P = models.Port
PB = models.PortBinding
IPA = models.IPAllocation
N = models.Network
SG = models.SecurityGroup
SGR = models.SecurityGroupRule
SGB = models.SecurityGroupPortBinding
PSB = models.PortSecurityBinding
AAP = models.AllowedAddressPair
AGA = models.AddressGroupAddress


def build(session: Session, host: str) -> L2State:
    """Ports bound to `host`, their networks (segment and peers), security groups,
    remote-group members and address groups, in a fixed number of queries."""
    rows = session.execute(
        select(P.id, P.network_id, P.mac_address, P.admin_state_up, P.status,
               P.device_owner, P.revision_number, PB.segment_id, P.project_id)
        .join(PB, PB.port_id == P.id).where(PB.host == host).order_by(P.id)).all()
    port_ids = [r.id for r in rows]
    ips = ips_by_port(session, port_ids)
    pairs: dict[str, list[AddressPair]] = defaultdict(list)
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

    ports: list[L2Port] = []
    bound_segment: dict[str, str | None] = {}
    for r in rows:
        bound_segment.setdefault(r.network_id, r.segment_id)
        ports.append({
            "id": r.id, "device": names.tap_device(r.id), "revision_number": r.revision_number,
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
    add_trunks(session, ports)  # trunks (issue 14)
    add_logs(session, ports, {r.id: r.project_id for r in rows})  # logging (issue 14)
    network_ids = sorted(bound_segment)
    group_ids = sorted({g for gs in groups_of.values() for g in gs})
    groups, remote_groups, address_groups = _security(session, group_ids)
    return {"host": host, "ports": ports,
            "networks": _networks(session, host, network_ids, bound_segment),
            "security_groups": groups, "remote_groups": remote_groups,
            "address_groups": address_groups}


def _networks(session: Session, host: str, network_ids: list[str],
              bound_segment: dict[str, str | None]) -> list[L2Network]:
    if not network_ids:
        return []
    segments = segments_of(session, network_ids)
    # Other hosts' ports on these networks (and their addresses): the peers.
    peer_rows = rows_for_ids(
        session,
        select(P.network_id, PB.host, P.mac_address, IPA.ip_address)
        .join(PB, PB.port_id == P.id).outerjoin(IPA, IPA.port_id == P.id)
        .where(PB.host != host, PB.host != ""),
        P.network_id, network_ids)
    peers: dict[str, dict[str, list[PeerMac]]] = defaultdict(lambda: defaultdict(list))
    for network_id, peer_host, mac, ip in peer_rows:
        peers[network_id][peer_host].append({"mac_address": mac, "ip_address": ip})
    tunnels = tunnel_ips(session, sorted({r.host for r in peer_rows}))
    out: list[L2Network] = []
    for row in rows_for_ids(session, select(N.id, N.revision_number, N.mtu), N.id,
                            network_ids):
        segment = pick_segment(segments.get(row.id, []), bound_segment.get(row.id)) or {}
        out.append({
            "id": row.id, "revision_number": row.revision_number, "mtu": row.mtu,
            "network_type": segment.get("network_type"),
            "physical_network": segment.get("physical_network"),
            "segmentation_id": segment.get("segmentation_id"),
            "peers": [_peer(peer_host, tunnels.get(peer_host), macs)
                      for peer_host, macs in sorted(peers[row.id].items())],
        })
    out.sort(key=lambda n: n["id"])
    return out


def _peer(host: str, tunnel_ip: str | None, macs: list[PeerMac]) -> Peer:
    return {"host": host, "tunnel_ip": tunnel_ip,
            "macs": sorted(macs, key=lambda m: (m["mac_address"], m["ip_address"] or ""))}


def _security(session: Session, group_ids: list[str]
              ) -> tuple[dict[str, SecurityGroup], dict[str, AddressesByFamily],
                         dict[str, AddressesByFamily]]:
    """security_groups, remote_groups and address_groups of the given groups."""
    groups: dict[str, SecurityGroup] = {}
    for group_id, stateful, revision in rows_for_ids(
            session, select(SG.id, SG.stateful, SG.revision_number), SG.id, group_ids):
        groups[group_id] = {"stateful": bool(stateful), "revision_number": revision,
                            "rules": []}
    remote_ids: set[str] = set()
    address_group_ids: set[str] = set()
    stmt = select(SGR.id, SGR.security_group_id, SGR.direction, SGR.ethertype,
                  SGR.protocol, SGR.port_range_min, SGR.port_range_max,
                  SGR.remote_ip_prefix, SGR.remote_group_id, SGR.remote_address_group_id)
    for row in rows_for_ids(session, stmt, SGR.security_group_id, group_ids):
        group = groups.get(row.security_group_id)
        if group is None:
            continue
        item: SecurityGroupRule = {
            "id": row.id, "direction": row.direction, "ethertype": row.ethertype,
            "protocol": row.protocol, "port_range_min": row.port_range_min,
            "port_range_max": row.port_range_max, "remote_ip_prefix": row.remote_ip_prefix,
            "remote_group_id": row.remote_group_id,
            "remote_address_group_id": row.remote_address_group_id}
        group["rules"].append(item)
        if item["remote_group_id"]:
            remote_ids.add(item["remote_group_id"])
        if item["remote_address_group_id"]:
            address_group_ids.add(item["remote_address_group_id"])
    for group in groups.values():
        group["rules"].sort(key=lambda r: r["id"])
    return (groups, _members(session, sorted(remote_ids)),
            _address_groups(session, sorted(address_group_ids)))


def _members(session: Session, group_ids: list[str]) -> dict[str, AddressesByFamily]:
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


def _address_groups(session: Session, ids: list[str]) -> dict[str, AddressesByFamily]:
    addresses: dict[str, list[str]] = {g: [] for g in ids}
    for group_id, address in rows_for_ids(
            session, select(AGA.address_group_id, AGA.address), AGA.address_group_id, ids):
        addresses[group_id].append(address)
    return {g: split_by_family(a) for g, a in addresses.items()}
