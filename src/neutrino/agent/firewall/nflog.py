"""NFLOG over netlink, pure: the messages that bind a netlink socket to an NFLOG group
and the parsing of the packets the kernel then sends, plus upstream's log line.

Security group logging (docs/agents.md) will have the firewall's log rules
(``-j NFLOG --nflog-group N --nflog-prefix <key>``) deliver packets to a
``NETLINK_NETFILTER`` socket bound to group N; this module turns the bytes read from
it into `Packet`s and lines. No I/O here, so every byte is checked by unit tests.

Layout (linux/netfilter/nfnetlink_log.h): each message is a netlink header, an
``nfgenmsg`` (family, version, group in network order) and attributes (length, type,
value padded to 4 bytes); the values that are numbers are in network order.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass

NETLINK_NETFILTER = 12
NFNL_SUBSYS_ULOG = 4
NFULNL_MSG_PACKET = 0
NFULNL_MSG_CONFIG = 1
MSG_PACKET = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET
MSG_CONFIG = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG
NLM_F_REQUEST, NLM_F_ACK = 0x1, 0x4
NLMSG_ERROR, NLMSG_DONE = 2, 3

# Packet attributes (NFULA_*) used here.
ATTR_PACKET_HDR, ATTR_INDEV, ATTR_OUTDEV, ATTR_PAYLOAD, ATTR_PREFIX = 1, 4, 5, 9, 10
ATTR_TYPE_MASK = 0x3FFF  # without NLA_F_NESTED / NLA_F_NET_BYTEORDER

# Config attributes and commands (NFULA_CFG_*, NFULNL_CFG_CMD_*).
CFG_CMD, CFG_MODE = 1, 2
CMD_BIND, CMD_UNBIND, CMD_PF_BIND, CMD_PF_UNBIND = 1, 2, 3, 4
COPY_PACKET = 2

NLMSG_HEADER = struct.Struct("=IHHII")  # length, type, flags, seq, pid (host order)
NFGENMSG = struct.Struct("!BBH")        # family, version, group (network order)
NLA_HEADER = struct.Struct("=HH")       # length, type (host order)

PROTOCOLS = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6", 132: "sctp"}


class NflogError(ValueError):
    """Bytes that are not the NFLOG messages they claim to be, or a netlink error."""


@dataclass(frozen=True)
class Packet:
    group: int
    prefix: str
    indev: int | None
    outdev: int | None
    hw_protocol: int | None
    payload: bytes


def _align(length: int) -> int:
    return (length + 3) & ~3


def _attribute(kind: int, value: bytes) -> bytes:
    length = NLA_HEADER.size + len(value)
    return NLA_HEADER.pack(length, kind) + value + b"\0" * (_align(length) - length)


def _message(kind: int, flags: int, seq: int, family: int, group: int,
             body: bytes) -> bytes:
    payload = NFGENMSG.pack(family, 0, group) + body
    return NLMSG_HEADER.pack(NLMSG_HEADER.size + len(payload), kind, flags, seq,
                             0) + payload


def config_command(command: int, group: int = 0, family: int = socket.AF_UNSPEC,
                   seq: int = 0) -> bytes:
    """One NFULNL_MSG_CONFIG command (bind/unbind a group, or a family's handler)."""
    return _message(MSG_CONFIG, NLM_F_REQUEST | NLM_F_ACK, seq, family, group,
                    _attribute(CFG_CMD, struct.pack("B", command)))


def bind_messages(group: int, copy_range: int = 0xFFFF, seq: int = 1) -> list[bytes]:
    """What a socket sends to receive group `group`'s packets, whole up to
    `copy_range` bytes: bind IPv4 and IPv6 to nf_log's netlink backend, bind the
    group, set copy mode "packet". Each asks for an ACK (`check_acks`)."""
    mode = struct.pack("!IBx", copy_range, COPY_PACKET)
    return [
        config_command(CMD_PF_BIND, family=socket.AF_INET, seq=seq),
        config_command(CMD_PF_BIND, family=socket.AF_INET6, seq=seq + 1),
        config_command(CMD_BIND, group=group, seq=seq + 2),
        _message(MSG_CONFIG, NLM_F_REQUEST | NLM_F_ACK, seq + 3, socket.AF_UNSPEC,
                 group, _attribute(CFG_MODE, mode)),
    ]


def _messages(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(type, body after the netlink header) of each message in a datagram."""
    offset = 0
    while offset + NLMSG_HEADER.size <= len(data):
        length, kind, _flags, _seq, _pid = NLMSG_HEADER.unpack_from(data, offset)
        if length < NLMSG_HEADER.size or offset + length > len(data):
            raise NflogError(f"netlink message of length {length} at {offset} does not "
                             f"fit in {len(data)} bytes")
        yield kind, data[offset + NLMSG_HEADER.size:offset + length]
        offset += _align(length)


def check_acks(data: bytes) -> int:
    """How many ACKs a datagram holds; a netlink error in it raises NflogError."""
    acks = 0
    for kind, body in _messages(data):
        if kind == NLMSG_ERROR:
            (code,) = struct.unpack_from("=i", body)
            if code != 0:
                raise NflogError(f"netlink error {-code}")
            acks += 1
    return acks


def _attributes(body: bytes) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    offset = 0
    while offset + NLA_HEADER.size <= len(body):
        length, kind = NLA_HEADER.unpack_from(body, offset)
        if length < NLA_HEADER.size or offset + length > len(body):
            raise NflogError(f"attribute of length {length} at {offset} does not fit")
        out[kind & ATTR_TYPE_MASK] = body[offset + NLA_HEADER.size:offset + length]
        offset += _align(length)
    return out


def _u32(value: bytes | None) -> int | None:
    return struct.unpack("!I", value[:4])[0] if value is not None else None


def parse(data: bytes) -> list[Packet]:
    """The logged packets of one datagram read from the socket (other messages,
    such as ACKs, are skipped)."""
    packets = []
    for kind, body in _messages(data):
        if kind != MSG_PACKET:
            continue
        if len(body) < NFGENMSG.size:
            raise NflogError("NFLOG packet message without its nfgenmsg")
        _family, _version, group = NFGENMSG.unpack_from(body)
        attrs = _attributes(body[NFGENMSG.size:])
        header = attrs.get(ATTR_PACKET_HDR)
        prefix = attrs.get(ATTR_PREFIX, b"").split(b"\0", 1)[0]
        packets.append(Packet(
            group=group, prefix=prefix.decode("utf-8", "replace"),
            indev=_u32(attrs.get(ATTR_INDEV)), outdev=_u32(attrs.get(ATTR_OUTDEV)),
            hw_protocol=struct.unpack_from("!H", header)[0] if header else None,
            payload=attrs.get(ATTR_PAYLOAD, b"")))
    return packets


def summary(payload: bytes) -> str:
    """One line about an IP packet: addresses, protocol and ports or ICMP type."""
    if not payload:
        return "empty"
    version = payload[0] >> 4
    if version == 4 and len(payload) >= 20:
        header_len = (payload[0] & 0x0F) * 4
        proto = payload[9]
        src, dst = (str(ipaddress.IPv4Address(payload[12:16])),
                    str(ipaddress.IPv4Address(payload[16:20])))
    elif version == 6 and len(payload) >= 40:
        # Extension headers are not followed: the next header is shown as is.
        header_len, proto = 40, payload[6]
        src, dst = (str(ipaddress.IPv6Address(payload[8:24])),
                    str(ipaddress.IPv6Address(payload[24:40])))
    else:
        return f"unknown length={len(payload)}"
    parts = [f"ipv{version}", f"src={src}", f"dst={dst}",
             f"proto={PROTOCOLS.get(proto, str(proto))}"]
    rest = payload[header_len:]
    if proto in (6, 17, 132) and len(rest) >= 4:
        sport, dport = struct.unpack_from("!HH", rest)
        parts += [f"sport={sport}", f"dport={dport}"]
    elif proto in (1, 58) and len(rest) >= 2:
        parts += [f"type={rest[0]}", f"code={rest[1]}"]
    parts.append(f"length={len(payload)}")
    return " ".join(parts)


def log_line(action: str, project_id: str, log_ids: list[str], port_id: str,
             payload: bytes) -> str:
    """Upstream's line for a logged packet (its NFLOG-based driver's fields)."""
    return (f"action={action}, project_id={project_id}, "
            f"log_resource_ids={sorted(log_ids)!r}, port={port_id}, "
            f"pkt={summary(payload)}")
