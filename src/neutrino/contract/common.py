"""Structures several kinds of state share."""

from __future__ import annotations

from typing import TypedDict


class AddressesByFamily(TypedDict):
    """Addresses or CIDRs, each family sorted and without duplicates."""

    IPv4: list[str]
    IPv6: list[str]


class FixedIp(TypedDict):
    subnet_id: str
    ip_address: str


class Route(TypedDict):
    """A subnet's host route or a router's extra route."""

    destination: str
    nexthop: str
