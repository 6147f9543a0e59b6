"""NFLOG netlink messages (agent/firewall/nflog.py): what binds a socket, the parsing
of the kernel's packet messages (built here byte by byte from the kernel's layout),
packet summaries and upstream's log line."""

from __future__ import annotations

import socket
import struct

import pytest

from neutrino.agent.firewall import nflog

ICMP_ECHO = bytes.fromhex(
    "45000054" "12344000" "4001" "0000" "0a000001" "0a000002"  # IPv4, icmp, 10.0.0.1>2
    "0800" "0000" "00010001") + b"x" * 56


def _attr(kind: int, value: bytes) -> bytes:
    length = 4 + len(value)
    return struct.pack("=HH", length, kind) + value + b"\0" * ((-length) % 4)


def _packet_message(group: int, attrs: bytes, seq: int = 0) -> bytes:
    body = struct.pack("!BBH", socket.AF_INET, 0, group) + attrs
    return struct.pack("=IHHII", 16 + len(body), (4 << 8) | 0, 0, seq, 0) + body


def test_bind_messages() -> None:
    messages = nflog.bind_messages(7, copy_range=512, seq=10)
    assert len(messages) == 4
    headers = [struct.unpack_from("=IHHII", m) for m in messages]
    assert [h[0] for h in headers] == [len(m) for m in messages]
    assert {h[1] for h in headers} == {(4 << 8) | 1}  # NFULNL_MSG_CONFIG
    assert [h[3] for h in headers] == [10, 11, 12, 13]
    assert all(h[2] == 0x5 for h in headers)  # request + ack
    families = [struct.unpack_from("!BBH", m, 16) for m in messages]
    assert families == [(socket.AF_INET, 0, 0), (socket.AF_INET6, 0, 0),
                        (socket.AF_UNSPEC, 0, 7), (socket.AF_UNSPEC, 0, 7)]
    # pf bind, pf bind, bind: NFULA_CFG_CMD (1) with the command byte, padded.
    assert [m[20:28] for m in messages[:3]] == [
        struct.pack("=HH", 5, 1) + bytes([c, 0, 0, 0]) for c in (3, 3, 1)]
    # mode: NFULA_CFG_MODE (2): copy range (network order), copy mode 2, pad.
    assert messages[3][20:] == struct.pack("=HH", 10, 2) + struct.pack(
        "!IBx", 512, 2) + b"\0\0"


def test_parse_packet() -> None:
    attrs = (_attr(1, struct.pack("!HBx", 0x0800, 1))
             + _attr(4, struct.pack("!I", 12))
             + _attr(10 | 0x4000, b"nl-abc\0")  # flag bits are ignored
             + _attr(3, b"\0" * 16)             # timestamp: not used
             + _attr(9, ICMP_ECHO))
    data = _packet_message(5, attrs) + _packet_message(5, _attr(9, b"\x45"))
    first, second = nflog.parse(data)
    assert first == nflog.Packet(group=5, prefix="nl-abc", indev=12, outdev=None,
                                 hw_protocol=0x0800, payload=ICMP_ECHO)
    assert second.prefix == "" and second.indev is None and second.payload == b"\x45"


def test_parse_skips_other_messages_and_refuses_truncation() -> None:
    ack = struct.pack("=IHHII", 36, 2, 0, 1, 0) + struct.pack("=i", 0) + b"\0" * 16
    assert nflog.parse(ack) == []
    assert nflog.check_acks(ack + ack) == 2
    error = struct.pack("=IHHII", 36, 2, 0, 1, 0) + struct.pack("=i", -1) + b"\0" * 16
    with pytest.raises(nflog.NflogError, match="netlink error 1"):
        nflog.check_acks(error)
    whole = _packet_message(5, _attr(9, ICMP_ECHO))
    with pytest.raises(nflog.NflogError):
        nflog.parse(whole[:-8])
    broken_attr = _packet_message(5, struct.pack("=HH", 200, 9) + b"abcd")
    with pytest.raises(nflog.NflogError):
        nflog.parse(broken_attr)


def test_summary() -> None:
    assert nflog.summary(ICMP_ECHO) == (
        "ipv4 src=10.0.0.1 dst=10.0.0.2 proto=icmp type=8 code=0 length=84")
    tcp = (bytes.fromhex("45000028000040004006" "0000" "c0a80001" "c0a80002")
           + struct.pack("!HH", 54321, 22) + bytes(16))
    assert nflog.summary(tcp).startswith(
        "ipv4 src=192.168.0.1 dst=192.168.0.2 proto=tcp sport=54321 dport=22")
    v6 = (bytes.fromhex("60000000" "0008" "3a" "40") + bytes(15) + b"\x01"
          + bytes.fromhex("fd00" + "00" * 13 + "02") + bytes([128, 0, 0, 0, 0, 1, 0, 1]))
    assert nflog.summary(v6) == ("ipv6 src=::1 dst=fd00::2 proto=icmpv6 type=128 "
                                 "code=0 length=48")
    assert nflog.summary(b"") == "empty"
    assert nflog.summary(b"\x45\x00") == "unknown length=2"


def test_log_line() -> None:
    assert nflog.log_line("DROP", "p1", ["b", "a"], "port-1", ICMP_ECHO) == (
        "action=DROP, project_id=p1, log_resource_ids=['a', 'b'], port=port-1, "
        "pkt=ipv4 src=10.0.0.1 dst=10.0.0.2 proto=icmp type=8 code=0 length=84")
