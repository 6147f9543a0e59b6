"""MAC address parsing, validation and random generation."""

from __future__ import annotations

import random
import re

from neutrino.exceptions import HTTPBadRequest

__all__ = ["format_mac", "generate_mac", "parse_mac", "validate_mac"]

_HEX2 = "[0-9A-Fa-f]{2}"
_HEX4 = "[0-9A-Fa-f]{4}"
# One separator style per address: 'aa:bb:..' or 'aa-bb-..', plus the Cisco dotted
# 'aabb.ccdd.eeff' form. The backreference forbids mixing ':' and '-'; fullmatch (not
# '$') so a trailing newline is rejected too.
_MAC_RE = re.compile(rf"{_HEX2}([:-]){_HEX2}(?:\1{_HEX2}){{4}}|{_HEX4}\.{_HEX4}\.{_HEX4}")


def parse_mac(value: object) -> bytes | None:
    """The six octets of a MAC in any accepted spelling; None if malformed."""
    if not isinstance(value, str) or not _MAC_RE.fullmatch(value):
        return None
    return bytes.fromhex(re.sub("[:.-]", "", value))


def format_mac(octets: bytes) -> str:
    """Lowercase colon-separated form, the one the API stores and returns."""
    return ":".join(f"{b:02x}" for b in octets)


def validate_mac(value: object) -> str:
    """Validate a user-supplied unicast MAC address; return it normalized.

    The all-zero, broadcast and any multicast address (I/G bit set) are rejected:
    none of them can identify a single port.
    """
    octets = parse_mac(value)
    if octets is None or octets == bytes(6) or octets[0] & 0x01:
        raise HTTPBadRequest(
            f"Invalid input for mac_address. Reason: '{value}' is not a valid MAC address."
        )
    return format_mac(octets)


def generate_mac(base_mac: str, rng: random.Random) -> str:
    """A random MAC derived from the configured ``base_mac``.

    The first three octets (the OUI) are always kept. Of the last three, a non-zero
    base octet is kept and a zero one is randomised, so an operator can reserve a
    sub-range, e.g. 'fa:16:3e:4f:00:00'. Raises ValueError for a malformed or
    multicast base: that is a configuration error, not a client one.
    """
    base = parse_mac(base_mac)
    if base is None:
        raise ValueError(f"Invalid base_mac {base_mac!r}")
    if base[0] & 0x01:
        raise ValueError(f"base_mac {base_mac!r} is a multicast address")
    tail = bytes(b if b else rng.randrange(256) for b in base[3:])
    return format_mac(base[:3] + tail)
