"""The "l2" desired state as session 8 built it (services/desired_state/l2.py at
commit 926a405), kept unchanged as the reference the faster build must match byte
for byte: tests/rpc/test_desired_state.py and bench/desired_state.py --compare-l2
compare both answers. Not imported by the server."""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import Connection, and_, literal, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from neutrino.contract import names, topics
from neutrino.contract.common import AddressesByFamily, FixedIp
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
from neutrino.contract.qos import QosRule
from neutrino.contract.trunk import TrunkSubPort
from neutrino.db import models
from neutrino.db.listing import rows_for_ids
from neutrino.resources import log as lr
from neutrino.services.desired_state.common import pick_segment, split_by_family
from neutrino.services.desired_state.logs import LogRef, port_logs
from neutrino.services.qos_policies import policy_rules

P = models.Port
PB = models.PortBinding
IPA = models.IPAllocation
N = models.Network
NS = models.NetworkSegment
SG = models.SecurityGroup
SGR = models.SecurityGroupRule
SGB = models.SecurityGroupPortBinding
PSB = models.PortSecurityBinding
AAP = models.AllowedAddressPair
AGA = models.AddressGroupAddress
QPB = models.QosPortPolicyBinding
QNB = models.QosNetworkPolicyBinding
T = models.Trunk
SP = models.SubPort
G = models.Log
A = models.Agent


def build(session: Session, host: str) -> L2State:
    """Ports bound to `host`, their networks (segment and peers), security groups,
    remote-group members and address groups, in a fixed number of queries."""
    conn = session.connection()
    rows = conn.execute(
        select(P.id, P.network_id, P.mac_address, P.admin_state_up, P.status,
               P.device_owner, P.revision_number, PB.segment_id, P.project_id,
               PSB.port_security_enabled, QPB.qos_policy_id,
               T.id.label("trunk_id"), T.admin_state_up.label("trunk_up"))
        .join(PB, PB.port_id == P.id)
        .outerjoin(PSB, PSB.port_id == P.id)
        .outerjoin(QPB, QPB.port_id == P.id)
        .outerjoin(T, T.port_id == P.id)
        .where(PB.host == host).order_by(P.id)).all()
    if not rows:
        return {"host": host, "ports": [], "networks": [], "security_groups": {},
                "remote_groups": {}, "address_groups": {}}
    ips, pairs, groups_of = _port_children(conn, host)

    ports: list[L2Port] = []
    bound_segment: dict[str, str | None] = {}
    own_policy: dict[str, str] = {}
    trunks: dict[str, tuple[str, bool]] = {}
    projects: dict[str, str] = {}
    no_groups: tuple[str, ...] = ()
    # Tuples unpacked, not Row attributes: this loop runs once per port.
    for (port_id, network_id, mac, up, status, owner, revision, segment_id, project_id,
         security, policy_id, trunk_id, trunk_up) in rows:
        bound_segment.setdefault(network_id, segment_id)
        projects[port_id] = project_id
        if policy_id is not None:
            own_policy[port_id] = policy_id
        if trunk_id is not None:
            trunks[port_id] = (trunk_id, trunk_up)
        fixed_ips = ips.get(port_id)
        if fixed_ips is None:
            fixed_ips = []
        elif len(fixed_ips) > 1:
            fixed_ips.sort(key=_ip_key)
        port_pairs = pairs.get(port_id)
        if port_pairs is None:
            port_pairs = []
        elif len(port_pairs) > 1:
            port_pairs.sort(key=_pair_key)
        ports.append({
            "id": port_id, "device": names.tap_device(port_id),
            "revision_number": revision, "network_id": network_id, "mac_address": mac,
            "admin_state_up": up, "status": status, "device_owner": owner,
            "fixed_ips": fixed_ips, "allowed_address_pairs": port_pairs,
            "port_security_enabled": True if security is None else bool(security),
            "security_groups": sorted(groups_of.get(port_id, no_groups)),
        })
    networks, network_policies = _networks(session, host, sorted(bound_segment),
                                           bound_segment)
    add_qos_rules(session, ports, own_policy, network_policies)  # QoS (issue 14)
    add_trunks(session, ports, trunks)  # trunks (issue 14)
    add_logs(session, host, ports, projects)  # logging (issue 14)
    group_ids = sorted({g for gs in groups_of.values() for g in gs})
    groups, remote_groups, address_groups = _security(session, group_ids)
    return {"host": host, "ports": ports, "networks": networks,
            "security_groups": groups, "remote_groups": remote_groups,
            "address_groups": address_groups}


def _ip_key(ip: FixedIp) -> tuple[str, str]:
    return ip["subnet_id"], ip["ip_address"]


def _pair_key(pair: AddressPair) -> tuple[str, str]:
    return pair["ip_address"], pair["mac_address"]


def _port_children(conn: Connection, host: str
                   ) -> tuple[dict[str, list[FixedIp]], dict[str, list[AddressPair]],
                              dict[str, list[str]]]:
    """The fixed IPs, allowed address pairs and security groups of the host's ports,
    in one query (a UNION ALL tagged by kind)."""
    on_host = PB.host == host
    stmt = union_all(
        select(literal("i").label("kind"), IPA.port_id, IPA.subnet_id, IPA.ip_address)
        .join(PB, PB.port_id == IPA.port_id).where(on_host),
        select(literal("a"), AAP.port_id, AAP.ip_address, AAP.mac_address)
        .join(PB, PB.port_id == AAP.port_id).where(on_host),
        select(literal("g"), SGB.port_id, SGB.security_group_id, SGB.security_group_id)
        .join(PB, PB.port_id == SGB.port_id).where(on_host))
    ips: dict[str, list[FixedIp]] = {}
    pairs: dict[str, list[AddressPair]] = {}
    groups_of: dict[str, list[str]] = {}
    # .all(): one fetch; iterating the result fetches row by row (psycopg fetchone).
    for kind, port_id, first, second in conn.execute(stmt).all():
        if kind == "i":
            ips.setdefault(port_id, []).append({"subnet_id": first, "ip_address": second})
        elif kind == "a":
            pairs.setdefault(port_id, []).append({"ip_address": first,
                                                  "mac_address": second})
        else:
            groups_of.setdefault(port_id, []).append(first)
    return ips, pairs, groups_of


def _networks(session: Session, host: str, network_ids: list[str],
              bound_segment: dict[str, str | None]
              ) -> tuple[list[L2Network], dict[str, str]]:
    """The networks of the host's ports (with their segments and peers) and the QoS
    policy of those that have one, in three queries. By the networks' ids: a few
    for many ports (a subquery on the bindings instead makes PostgreSQL probe every
    port of every network)."""
    segments: dict[str, list[dict[str, Any]]] = defaultdict(list)
    networks: dict[str, Any] = {}
    policies: dict[str, str] = {}
    stmt = (select(N.id, N.revision_number, N.mtu, QNB.qos_policy_id,
                   NS.id.label("segment_id"), NS.network_type, NS.physical_network,
                   NS.segmentation_id, NS.segment_index)
            .outerjoin(QNB, QNB.network_id == N.id)
            .outerjoin(NS, NS.network_id == N.id))
    for row in rows_for_ids(session, stmt, N.id, network_ids):
        networks[row.id] = row
        if row.qos_policy_id is not None:
            policies[row.id] = row.qos_policy_id
        if row.segment_id is not None:
            segments[row.id].append({
                "id": row.segment_id, "network_id": row.id,
                "network_type": row.network_type,
                "physical_network": row.physical_network,
                "segmentation_id": row.segmentation_id,
                "segment_index": row.segment_index})
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
    for network_id in sorted(networks):
        row = networks[network_id]
        segment = pick_segment(segments.get(network_id, []),
                               bound_segment.get(network_id)) or {}
        out.append({
            "id": network_id, "revision_number": row.revision_number, "mtu": row.mtu,
            "network_type": segment.get("network_type"),
            "physical_network": segment.get("physical_network"),
            "segmentation_id": segment.get("segmentation_id"),
            "peers": [_peer(peer_host, tunnels.get(peer_host), macs)
                      for peer_host, macs in sorted(peers[network_id].items())],
        })
    return out, policies


def _peer(host: str, tunnel_ip: str | None, macs: list[PeerMac]) -> Peer:
    return {"host": host, "tunnel_ip": tunnel_ip,
            "macs": sorted(macs, key=lambda m: (m["mac_address"], m["ip_address"] or ""))}


def _security(session: Session, group_ids: list[str]
              ) -> tuple[dict[str, SecurityGroup], dict[str, AddressesByFamily],
                         dict[str, AddressesByFamily]]:
    """security_groups, remote_groups and address_groups of the given groups: the
    groups with their rules in one query."""
    conn = session.connection()
    groups: dict[str, SecurityGroup] = {}
    remote_ids: set[str] = set()
    address_group_ids: set[str] = set()
    stmt = (select(SG.id.label("group_id"), SG.stateful, SG.revision_number, SGR.id,
                   SGR.direction, SGR.ethertype, SGR.protocol, SGR.port_range_min,
                   SGR.port_range_max, SGR.remote_ip_prefix, SGR.remote_group_id,
                   SGR.remote_address_group_id)
            .outerjoin(SGR, SGR.security_group_id == SG.id))
    for row in rows_for_ids(session, stmt, SG.id, group_ids):
        group = groups.get(row.group_id)
        if group is None:
            group = groups[row.group_id] = {
                "stateful": bool(row.stateful), "revision_number": row.revision_number,
                "rules": []}
        if row.id is None:  # a group without rules
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
    return (groups, _members(conn, sorted(remote_ids)),
            _address_groups(conn, sorted(address_group_ids)))


def _members(conn: Connection, group_ids: list[str]) -> dict[str, AddressesByFamily]:
    """Per group: the fixed IPs and allowed address pairs of its ports (one query;
    the groups are those named by the rules, a handful)."""
    if not group_ids:
        return {}
    addresses: dict[str, list[str]] = {g: [] for g in group_ids}
    stmt = union_all(
        select(SGB.security_group_id, IPA.ip_address)
        .join(IPA, IPA.port_id == SGB.port_id)
        .where(SGB.security_group_id.in_(group_ids)),
        select(SGB.security_group_id, AAP.ip_address)
        .join(AAP, AAP.port_id == SGB.port_id)
        .where(SGB.security_group_id.in_(group_ids)))
    for group_id, ip in conn.execute(stmt).all():
        addresses[group_id].append(ip)
    return {g: split_by_family(ips) for g, ips in addresses.items()}


def _address_groups(conn: Connection, ids: list[str]) -> dict[str, AddressesByFamily]:
    if not ids:
        return {}
    addresses: dict[str, list[str]] = {g: [] for g in ids}
    for group_id, address in conn.execute(
            select(AGA.address_group_id, AGA.address)
            .where(AGA.address_group_id.in_(ids))).all():
        addresses[group_id].append(address)
    return {g: split_by_family(a) for g, a in addresses.items()}


# The QoS, trunk and log parts as services/desired_state/qos.py, trunk.py and
# logs.py made them at that commit, and common.py's tunnel_ips.


def add_qos_rules(session: Session, ports: list[L2Port], own: Mapping[str, str],
                  of_network: Mapping[str, str]) -> None:
    """Set `qos_policy_id` and `qos_rules` on each port of the desired state; `own`:
    port id -> its policy, `of_network`: network id -> its policy (l2.py reads both
    with the ports and their networks). One query when a policy applies, else none."""
    effective: dict[str, str | None] = {}
    for port in ports:
        policy = own.get(port["id"])
        if policy is None and not (port["device_owner"] or "").startswith("network:"):
            policy = of_network.get(port["network_id"])
        effective[port["id"]] = policy
    rules = policy_rules(session, sorted({p for p in effective.values() if p}))
    for port in ports:
        policy = effective[port["id"]]
        port["qos_policy_id"] = policy
        if not policy:
            port["qos_rules"] = []
            continue
        port["qos_rules"] = [
            # rule_dict's keys for its type are the contract's (tests/rpc checks them).
            cast(QosRule, {k: v for k, v in r.items() if k != "qos_policy_id"})
            for r in rules.get(policy, [])]


def add_trunks(session: Session, ports: list[L2Port],
               trunks: Mapping[str, tuple[str, bool]]) -> None:
    """Set `trunk` on the ports that are a trunk's parent; `trunks`: parent port id
    -> (trunk id, its admin_state_up), as l2.py reads them with the ports."""
    if not trunks:
        return
    subports: dict[str, list[TrunkSubPort]] = defaultdict(list)
    stmt = (select(SP.trunk_id, SP.port_id, SP.segmentation_type, SP.segmentation_id,
                   P.mac_address).join(P, P.id == SP.port_id))
    for trunk_id, port_id, seg_type, seg_id, mac in rows_for_ids(
            session, stmt, SP.trunk_id, [t for t, _ in trunks.values()]):
        subports[trunk_id].append({
            "port_id": port_id, "device": names.tap_device(port_id),
            "segmentation_type": seg_type, "segmentation_id": seg_id,
            "mac_address": mac})
    for port in ports:
        found = trunks.get(port["id"])
        if found is not None:
            trunk_id, up = found
            port["trunk"] = {"trunk_id": trunk_id, "admin_state_up": up,
                             "sub_ports": sorted(subports.get(trunk_id, []),
                                                 key=lambda s: s["segmentation_id"])}


def _candidates(session: Session, host: str) -> list[LogRef]:
    """The enabled security-group logs that may cover one of the ports bound to
    `host` (by port, by one of their groups or by their project), in one query
    whatever the number of ports."""
    binding, port, group = aliased(PB), aliased(P), aliased(SGB)
    ports = select(binding.port_id).where(binding.host == host)
    groups = (select(group.security_group_id)
              .join(binding, binding.port_id == group.port_id).where(binding.host == host))
    projects = (select(port.project_id).join(binding, binding.port_id == port.id)
                .where(binding.host == host))
    stmt = select(G.id, G.project_id, G.resource_id, G.target_id, G.event).where(
        G.enabled.is_(True), G.resource_type == lr.SECURITY_GROUP,
        or_(G.target_id.in_(ports),
            and_(G.target_id.is_(None), G.resource_id.in_(groups)),
            and_(G.target_id.is_(None), G.resource_id.is_(None),
                 G.project_id.in_(projects))))
    return [LogRef(row.id, row.project_id, row.resource_id, row.target_id, row.event)
            for row in session.connection().execute(stmt).all()]


def add_logs(session: Session, host: str, ports: list[L2Port],
             projects: Mapping[str, str]) -> None:
    """Set `logs` on each port bound to `host` in the desired state; `projects`: port
    id -> its project."""
    logs = sorted(_candidates(session, host), key=lambda log: log.id)
    for port in ports:
        port["logs"] = port_logs(logs, port, projects.get(port["id"], "")) if logs else []


def tunnel_ips(session: Session, hosts: list[str]) -> dict[str, str | None]:
    """The `tunneling_ip` each host's L2 agent (Linux bridge or Open vSwitch) reports
    (its local_ip)."""
    out: dict[str, str | None] = {}
    stmt = select(A.host, A.configurations).where(
        A.agent_type.in_((topics.AGENT_TYPE_LINUXBRIDGE, topics.AGENT_TYPE_OVS)))
    for host, configurations in rows_for_ids(session, stmt, A.host, hosts):
        try:
            out[host] = (json.loads(configurations or "{}") or {}).get("tunneling_ip")
        except (ValueError, AttributeError):
            out[host] = None
    return out
