"""The desired state kind "l2" (contract/l2.py): ports bound to a host, their
networks (segment and peers), security groups, remote-group members and address
groups, for the Linux bridge agent and its firewall.

Cost (issue 17): the per-port tables are selected by host in SQL (a join on the
port binding), never by the host's port ids sent back from Python, so the database
matches them with its indexes and no array of thousands of ids is encoded per
statement; the networks and groups (a few for many ports) go by their ids. Rows
come back as tuples (Core selects on the session's connection, no ORM objects);
one-to-one tables are joined into the ports statement and the one-to-many ones
(fixed IPs, address pairs, groups) come in one UNION ALL. A host with ports costs at
most 8 queries whatever their number (ports; their addresses, pairs and groups;
networks; peers; the peers' tunnel IPs; logs; groups with their rules; remote-group
members), plus 1 each for QoS rules, trunk sub-ports and address groups when there
are any; a host without ports, 1.

CPU (session 9): the statements are made once per dialect (bind parameters for the
host and the ids), each port's dict is made in one pass with its QoS rules, trunk
and logs (no second walk adding keys), only lists with several items are sorted,
and parts many ports share (a policy's rules) are one object referenced by each:
the answer is read-only (encoded as it leaves the server; the agents only read
it). tests/l2_reference.py is the straightforward build this one
must match byte for byte (tests/rpc/test_desired_state.py, bench/desired_state.py
--compare-l2).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Executable,
    String,
    any_,
    bindparam,
    literal,
    select,
    union_all,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from neutrino.contract import topics
from neutrino.contract.common import AddressesByFamily, FixedIp
from neutrino.contract.l2 import (
    AddressPair,
    L2Network,
    L2Port,
    L2State,
    Peer,
    PortLog,
    SecurityGroup,
    SecurityGroupRule,
)
from neutrino.contract.names import ID_LEN, TAP_PREFIX
from neutrino.contract.qos import QosRule
from neutrino.contract.trunk import TrunkInfo, TrunkSubPort
from neutrino.db import models
from neutrino.db.listing import IDS_PER_QUERY, in_chunks
from neutrino.services.desired_state.common import pick_segment, tunneling_ip
from neutrino.services.desired_state.logs import LogRef, candidates, covers
from neutrino.services.desired_state.qos import effective_policy, rules_by_policy
from neutrino.services.desired_state.trunk import sub_ports

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
A = models.Agent
SP = models.SubPort


@dataclass(frozen=True)
class _Statements:
    """The statements of one build, made once per dialect: bind parameters `host`
    and `ids` (one array on PostgreSQL, an expanding IN list elsewhere)."""

    ports: Executable
    children: Executable
    networks: Executable
    peers: Executable
    agents: Executable
    groups: Executable
    members: Executable
    address_groups: Executable


def _ids_match(column: Any, on_postgresql: bool) -> ColumnElement[bool]:
    if on_postgresql:
        # One array parameter: a statement psycopg prepares once (db/listing.py).
        return cast(ColumnElement[bool],
                    column == any_(bindparam("ids", type_=postgresql.ARRAY(String))))
    return cast(ColumnElement[bool], column.in_(bindparam("ids", expanding=True)))


@functools.cache
def _statements(on_postgresql: bool) -> _Statements:
    host = bindparam("host", type_=String)
    on_host = PB.host == host
    group_ids = _ids_match(SGB.security_group_id, on_postgresql)
    return _Statements(
        ports=select(P.id, P.network_id, P.mac_address, P.admin_state_up, P.status,
                     P.device_owner, P.revision_number, PB.segment_id, P.project_id,
                     PSB.port_security_enabled, QPB.qos_policy_id,
                     T.id.label("trunk_id"), T.admin_state_up.label("trunk_up"))
        .join(PB, PB.port_id == P.id)
        .outerjoin(PSB, PSB.port_id == P.id)
        .outerjoin(QPB, QPB.port_id == P.id)
        .outerjoin(T, T.port_id == P.id)
        .where(on_host).order_by(P.id),
        # The one-to-many tables of the host's ports, tagged by kind.
        children=union_all(
            select(literal("i").label("kind"), IPA.port_id, IPA.subnet_id,
                   IPA.ip_address).join(PB, PB.port_id == IPA.port_id).where(on_host),
            select(literal("a"), AAP.port_id, AAP.ip_address, AAP.mac_address)
            .join(PB, PB.port_id == AAP.port_id).where(on_host),
            select(literal("g"), SGB.port_id, SGB.security_group_id,
                   SGB.security_group_id)
            .join(PB, PB.port_id == SGB.port_id).where(on_host)),
        networks=select(N.id, N.revision_number, N.mtu, QNB.qos_policy_id,
                        NS.id.label("segment_id"), NS.network_type, NS.physical_network,
                        NS.segmentation_id, NS.segment_index)
        .outerjoin(QNB, QNB.network_id == N.id)
        .outerjoin(NS, NS.network_id == N.id)
        .where(_ids_match(N.id, on_postgresql)),
        # Other hosts' ports on these networks (and their addresses): the peers.
        peers=select(P.network_id, PB.host, P.mac_address, IPA.ip_address)
        .join(PB, PB.port_id == P.id).outerjoin(IPA, IPA.port_id == P.id)
        .where(PB.host != host, PB.host != "", _ids_match(P.network_id, on_postgresql)),
        # The peers' L2 agents, for their tunnel IPs.
        agents=select(A.host, A.configurations).where(
            A.agent_type.in_((topics.AGENT_TYPE_LINUXBRIDGE, topics.AGENT_TYPE_OVS)),
            _ids_match(A.host, on_postgresql)),
        groups=select(SG.id.label("group_id"), SG.stateful, SG.revision_number, SGR.id,
                      SGR.direction, SGR.ethertype, SGR.protocol, SGR.port_range_min,
                      SGR.port_range_max, SGR.remote_ip_prefix, SGR.remote_group_id,
                      SGR.remote_address_group_id)
        .outerjoin(SGR, SGR.security_group_id == SG.id)
        .where(_ids_match(SG.id, on_postgresql)),
        members=union_all(
            select(SGB.security_group_id, IPA.ip_address)
            .join(IPA, IPA.port_id == SGB.port_id).where(group_ids),
            select(SGB.security_group_id, AAP.ip_address)
            .join(AAP, AAP.port_id == SGB.port_id).where(group_ids)),
        address_groups=select(AGA.address_group_id, AGA.address)
        .where(_ids_match(AGA.address_group_id, on_postgresql)),
    )


def _by_ids(conn: Connection, stmt: Executable, ids: list[str], **params: str
            ) -> Sequence[Any]:
    """Rows of `stmt` for `ids` (its `ids` parameter); none without ids."""
    if not ids:
        return []
    if conn.dialect.name == "postgresql":
        return conn.execute(stmt, {"ids": ids, **params}).all()
    rows: list[Any] = []
    for chunk in in_chunks(ids, IDS_PER_QUERY):
        rows.extend(conn.execute(stmt, {"ids": chunk, **params}).all())
    return rows


def build(session: Session, host: str) -> L2State:
    """Ports bound to `host`, their networks (segment and peers), security groups,
    remote-group members and address groups, in a fixed number of queries."""
    conn = session.connection()
    st = _statements(conn.dialect.name == "postgresql")
    rows = conn.execute(st.ports, {"host": host}).all()
    if not rows:
        return {"host": host, "ports": [], "networks": [], "security_groups": {},
                "remote_groups": {}, "address_groups": {}}
    # A network's segment: the one its first port (by id) is bound to.
    bound_segment: dict[str, str | None] = {}
    for row in rows:
        if row[1] not in bound_segment:
            bound_segment[row[1]] = row[7]
    ips, pairs, groups_of = _port_children(conn, st, host)
    network_rows = _by_ids(conn, st.networks, sorted(bound_segment))
    network_policy = {r.id: r.qos_policy_id for r in network_rows
                      if r.qos_policy_id is not None}
    # QoS (issue 14): the effective policies first, so each port's rules are known
    # as its dict is made (one list per policy, referenced by its ports).
    policy_of: list[str | None] | None = None
    if network_policy or {row[10] for row in rows} != {None}:
        policy_of = [effective_policy(row[10], row[5], network_policy.get(row[1]))
                     for row in rows]
    rules = rules_by_policy(session, sorted({p for p in policy_of or () if p}))
    # Trunks (issue 14): the parents' sub-ports, one query when there are any.
    trunk_ids = [row[11] for row in rows if row[11] is not None]
    subports = sub_ports(session, trunk_ids) if trunk_ids else {}
    logs = candidates(session, host)  # logging (issue 14)

    ports: list[L2Port] = []
    no_rules: list[QosRule] = []
    # Tuples unpacked, not Row attributes: this loop runs once per port. Keys in the
    # order the contract's TypedDict lists them (the answer's bytes stay the same).
    for index, (port_id, network_id, mac, up, status, owner, revision, _segment,
                project_id, security, _policy, trunk_id, trunk_up) in enumerate(rows):
        groups = groups_of.get(port_id)
        if groups is None:
            groups = []
        policy = policy_of[index] if policy_of is not None else None
        port: L2Port = {
            "id": port_id, "device": TAP_PREFIX + port_id[:ID_LEN],
            "revision_number": revision, "network_id": network_id, "mac_address": mac,
            "admin_state_up": up, "status": status, "device_owner": owner,
            "fixed_ips": ips.get(port_id) or [],
            "allowed_address_pairs": pairs.get(port_id) or [],
            "port_security_enabled": True if security is None else bool(security),
            "security_groups": groups,
            "qos_policy_id": policy,
            "qos_rules": rules.get(policy, no_rules) if policy else [],
        }
        if trunk_id is not None:
            port["trunk"] = _trunk(trunk_id, trunk_up, subports)
        port["logs"] = _logs(logs, port_id, project_id, groups) if logs else []
        ports.append(port)
    networks = _networks(session, st, host, network_rows, bound_segment)
    groups_state, remote_groups, address_groups = _security(
        conn, st, sorted({g for gs in groups_of.values() for g in gs}))
    return {"host": host, "ports": ports, "networks": networks,
            "security_groups": groups_state, "remote_groups": remote_groups,
            "address_groups": address_groups}


def _ip_key(ip: FixedIp) -> tuple[str, str]:
    return ip["subnet_id"], ip["ip_address"]


def _pair_key(pair: AddressPair) -> tuple[str, str]:
    return pair["ip_address"], pair["mac_address"]


def _trunk(trunk_id: str, up: bool, subports: dict[str, list[TrunkSubPort]]
           ) -> TrunkInfo:
    # A copy of the sub-port list per parent: a trunk has one parent.
    return {"trunk_id": trunk_id, "admin_state_up": up,
            "sub_ports": list(subports.get(trunk_id, ()))}


def _logs(logs: list[LogRef], port_id: str, project_id: str, groups: list[str]
          ) -> list[PortLog]:
    return [{"id": log.id, "project_id": log.project_id, "event": log.event}
            for log in logs if covers(log, port_id, project_id, groups)]


def _port_children(conn: Connection, st: _Statements, host: str
                   ) -> tuple[dict[str, list[FixedIp]], dict[str, list[AddressPair]],
                              dict[str, list[str]]]:
    """The fixed IPs, allowed address pairs and security groups of the host's ports,
    in one query (a UNION ALL tagged by kind)."""
    ips: dict[str, list[FixedIp]] = {}
    pairs: dict[str, list[AddressPair]] = {}
    groups_of: dict[str, list[str]] = {}
    several: list[list[Any]] = []  # the lists that got a second item: to sort
    # .all(): one fetch; iterating the result fetches row by row (psycopg fetchone).
    # get-then-set, not setdefault(key, []): no list made and dropped per row.
    for kind, port_id, first, second in conn.execute(st.children, {"host": host}).all():
        if kind == "i":
            ip_list = ips.get(port_id)
            if ip_list is None:
                ips[port_id] = [{"subnet_id": first, "ip_address": second}]
            else:
                ip_list.append({"subnet_id": first, "ip_address": second})
                several.append(ip_list)
        elif kind == "g":
            group_list = groups_of.get(port_id)
            if group_list is None:
                groups_of[port_id] = [first]
            else:
                group_list.append(first)
                several.append(group_list)
        else:
            pair_list = pairs.get(port_id)
            if pair_list is None:
                pairs[port_id] = [{"ip_address": first, "mac_address": second}]
            else:
                pair_list.append({"ip_address": first, "mac_address": second})
                several.append(pair_list)
    for values in several:  # a list may be here more than once: sorting is idempotent
        if isinstance(values[0], str):
            values.sort()
        elif "subnet_id" in values[0]:
            values.sort(key=_ip_key)
        else:
            values.sort(key=_pair_key)
    return ips, pairs, groups_of


def _networks(session: Session, st: _Statements, host: str,
              network_rows: Sequence[Any], bound_segment: dict[str, str | None]
              ) -> list[L2Network]:
    """The networks of the host's ports with their segment and peers. By the
    networks' ids: a few for many ports (a subquery on the bindings instead makes
    PostgreSQL probe every port of every network)."""
    segments: dict[str, list[dict[str, Any]]] = {}
    networks: dict[str, Any] = {}
    for row in network_rows:
        networks[row.id] = row
        if row.segment_id is not None:
            segments.setdefault(row.id, []).append({
                "id": row.segment_id, "network_id": row.id,
                "network_type": row.network_type,
                "physical_network": row.physical_network,
                "segmentation_id": row.segmentation_id,
                "segment_index": row.segment_index})
    # Per network and host, (mac, ip) tuples: sorted before any dict is made.
    peers: dict[str, dict[str, list[tuple[str, str | None]]]] = {}
    no_ip = False
    for network_id, peer_host, mac, ip in _by_ids(session.connection(), st.peers,
                                                  sorted(networks), host=host):
        of_network = peers.get(network_id)
        if of_network is None:
            of_network = peers[network_id] = {}
        if ip is None:
            no_ip = True
        macs = of_network.get(peer_host)
        if macs is None:
            of_network[peer_host] = [(mac, ip)]
        else:
            macs.append((mac, ip))
    tunnels = {agent_host: tunneling_ip(configurations) for agent_host, configurations
               in _by_ids(session.connection(), st.agents,
                          sorted({h for of in peers.values() for h in of}))}
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
            "peers": [_peer(peer_host, tunnels.get(peer_host), macs, no_ip)
                      for peer_host, macs in sorted(peers.get(network_id, {}).items())],
        })
    return out


def _mac_key(mac: tuple[str, str | None]) -> tuple[str, str]:
    return mac[0], mac[1] or ""


def _peer(host: str, tunnel_ip: str | None, macs: list[tuple[str, str | None]],
          no_ip: bool) -> Peer:
    # By (mac, ip or ""): the tuples' own order when every ip is there (no key call
    # per item; equal tuples are equal dicts, so stability does not show).
    if no_ip:
        macs.sort(key=_mac_key)
    else:
        macs.sort()
    return {"host": host, "tunnel_ip": tunnel_ip,
            "macs": [{"mac_address": mac, "ip_address": ip} for mac, ip in macs]}


def _security(conn: Connection, st: _Statements, group_ids: list[str]
              ) -> tuple[dict[str, SecurityGroup], dict[str, AddressesByFamily],
                         dict[str, AddressesByFamily]]:
    """security_groups, remote_groups and address_groups of the given groups: the
    groups with their rules in one query."""
    groups: dict[str, SecurityGroup] = {}
    remote_ids: set[str] = set()
    address_group_ids: set[str] = set()
    for row in _by_ids(conn, st.groups, group_ids):
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
    return (groups, _by_family(_by_ids(conn, st.members, sorted(remote_ids)), remote_ids),
            _by_family(_by_ids(conn, st.address_groups, sorted(address_group_ids)),
                       address_group_ids))


def _by_family(rows: Sequence[Any], ids: set[str]) -> dict[str, AddressesByFamily]:
    """Per id (of `ids`, in order): the addresses of the (id, address) rows split as
    common.split_by_family does: sorted, without duplicates (the members of a group
    used by thousands of ports: set comprehensions, not a call per address)."""
    if len(ids) == 1:
        by_id = {next(iter(ids)): {address for _, address in rows}}
    else:
        by_id = {i: set() for i in ids}
        for owner, address in rows:
            by_id[owner].add(address)
    out: dict[str, AddressesByFamily] = {}
    for i in sorted(by_id):
        v6 = {a for a in by_id[i] if ":" in a}
        out[i] = {"IPv4": sorted(by_id[i] - v6), "IPv6": sorted(v6)}
    return out
