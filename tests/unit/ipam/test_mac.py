"""Unit tests for neutrino.ipam.mac."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neutrino.exceptions import HTTPBadRequest
from neutrino.ipam import mac as m

# -- validate_mac ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("fa:16:3e:00:00:01", "fa:16:3e:00:00:01"),
        ("FA:16:3E:AB:CD:EF", "fa:16:3e:ab:cd:ef"),
        ("fa-16-3e-ab-cd-ef", "fa:16:3e:ab:cd:ef"),
        ("FA-16-3E-AB-CD-EF", "fa:16:3e:ab:cd:ef"),
        ("fa16.3eab.cdef", "fa:16:3e:ab:cd:ef"),
        ("00:00:00:00:00:01", "00:00:00:00:00:01"),
        ("fe:ff:ff:ff:ff:ff", "fe:ff:ff:ff:ff:ff"),
    ],
)
def test_validate_mac_ok(value: str, expected: str) -> None:
    assert m.validate_mac(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "fa:16:3e:00:00",
        "fa:16:3e:00:00:01:02",
        "fa:16:3e:00:00:0g",
        "fa:16:3e-00:00:01",  # mixed separators
        "fa:16:3e:0:0:1",  # octets must be two digits
        "fa163e000001",
        "fa16.3e00.001",
        " fa:16:3e:00:00:01",
        "fa:16:3e:00:00:01\n",
        "00:00:00:00:00:00",
        "ff:ff:ff:ff:ff:ff",
        "FF-FF-FF-FF-FF-FF",
        "01:00:5e:00:00:01",  # IPv4 multicast
        "33:33:00:00:00:01",  # IPv6 multicast
        None,
        123,
        b"fa:16:3e:00:00:01",
        ["fa:16:3e:00:00:01"],
    ],
)
def test_validate_mac_rejects(value: object) -> None:
    with pytest.raises(HTTPBadRequest) as exc:
        m.validate_mac(value)
    assert exc.value.msg == (
        f"Invalid input for mac_address. Reason: '{value}' is not a valid MAC address."
    )
    assert exc.value.status == 400


@given(st.binary(min_size=6, max_size=6))
def test_validate_mac_roundtrip(octets: bytes) -> None:
    text = ":".join(f"{b:02X}" for b in octets)
    if octets[0] & 1 or octets == bytes(6):
        with pytest.raises(HTTPBadRequest):
            m.validate_mac(text)
    else:
        assert m.validate_mac(text) == text.lower()
        assert m.validate_mac(text.replace(":", "-")) == text.lower()


def test_parse_and_format() -> None:
    assert m.parse_mac("fa:16:3e:00:00:01") == bytes.fromhex("fa163e000001")
    assert m.parse_mac("nope") is None
    assert m.format_mac(bytes.fromhex("FA163E000001")) == "fa:16:3e:00:00:01"


# -- generate_mac ------------------------------------------------------------------


def test_generate_mac_default_base() -> None:
    rng = random.Random(0)
    macs = {m.generate_mac("fa:16:3e:00:00:00", rng) for _ in range(200)}
    assert len(macs) > 190
    assert all(mac.startswith("fa:16:3e:") for mac in macs)
    assert all(m.validate_mac(mac) == mac for mac in macs)


@pytest.mark.parametrize(
    ("base", "prefix", "suffix"),
    [
        ("fa:16:3e:4f:00:00", "fa:16:3e:4f:", ""),
        ("fa:16:3e:4f:aa:00", "fa:16:3e:4f:aa:", ""),
        ("fa:16:3e:00:00:0b", "fa:16:3e:", ":0b"),
        ("fa:16:3e:01:02:03", "fa:16:3e:01:02:03", ""),
        ("FA-16-3E-00-00-00", "fa:16:3e:", ""),
        ("00:00:00:00:00:00", "00:00:00:", ""),
    ],
)
def test_generate_mac_keeps_non_zero_octets(base: str, prefix: str, suffix: str) -> None:
    rng = random.Random(5)
    for _ in range(50):
        mac = m.generate_mac(base, rng)
        assert mac.startswith(prefix)
        assert mac.endswith(suffix)
        assert len(mac) == 17


def test_generate_mac_deterministic_for_seed() -> None:
    assert m.generate_mac("fa:16:3e:00:00:00", random.Random(9)) == m.generate_mac(
        "fa:16:3e:00:00:00", random.Random(9)
    )


@pytest.mark.parametrize("base", ["nope", "fa:16:3e:00:00", "", "01:00:5e:00:00:00"])
def test_generate_mac_bad_base(base: str) -> None:
    with pytest.raises(ValueError):
        m.generate_mac(base, random.Random(0))


@given(st.binary(min_size=6, max_size=6), st.integers())
def test_generate_mac_properties(base_octets: bytes, seed: int) -> None:
    base_octets = bytes([base_octets[0] & 0xFE, *base_octets[1:]])  # unicast base
    base = m.format_mac(base_octets)
    mac = m.generate_mac(base, random.Random(seed))
    octets = m.parse_mac(mac)
    assert octets is not None
    assert mac == mac.lower()
    assert octets[:3] == base_octets[:3]
    assert not octets[0] & 0x01
    for got, want in zip(octets[3:], base_octets[3:], strict=True):
        if want:
            assert got == want
