"""allowed-address-pairs: addresses besides its fixed IPs a port may send from,
``[{"ip_address": IP or CIDR, "mac_address": MAC (default: the port's)}]``."""

from __future__ import annotations

import ipaddress
from typing import Any

from neutrino import exceptions as exc
from neutrino.ipam import mac as macs
from neutrino.resources import validators as v
from neutrino.resources.attributes import Attr
from neutrino.resources.feature import Extension, Feature
from neutrino.resources.port import UNSET

ADDRESS_PAIRS = "allowed_address_pairs"
PAIR_KEYS = {"ip_address", "mac_address"}


class AllowedAddressPairsMissingIP(exc.InvalidInput):
    message = "AllowedAddressPair must contain ip_address"

    def __init__(self) -> None:
        exc.NeutronError.__init__(self)


class DuplicateAddressPairInRequest(exc.InvalidInput):
    message = ("Request contains duplicate address pair: mac_address %(mac_address)s "
               "ip_address %(ip_address)s.")

    def __init__(self, **kwargs: Any) -> None:
        exc.NeutronError.__init__(self, **kwargs)


class AllowedAddressPairExhausted(exc.BadRequest):
    message = "The number of allowed address pair exceeds the maximum %(quota)s."


class AddressPairAndPortSecurityRequired(exc.Conflict):
    message = ("Port Security must be enabled in order to have allowed address pairs "
               "on a port.")


def _ip_or_cidr(value: Any) -> str:
    """The address as given (upstream keeps the client's spelling), if valid."""
    if not isinstance(value, str) or value != value.strip() or not value:
        raise exc.HTTPBadRequest(f"'{value}' is not a valid IP address")
    try:
        if "/" in value:
            ipaddress.ip_network(value, strict=False)
        else:
            ipaddress.ip_address(value)
    except ValueError:
        kind = "IP subnet" if "/" in value else "IP address"
        raise exc.HTTPBadRequest(f"'{value}' is not a valid {kind}") from None
    return value


def validate_pairs(value: Any, max_pairs: int | None = None) -> list[dict]:
    """Shape checks (pure), in upstream's order; MACs normalized, a missing MAC
    stays missing (the port's MAC is filled in by the service)."""
    if not isinstance(value, list):
        raise exc.HTTPBadRequest("Allowed address pairs must be a list.")
    if max_pairs is not None and len(value) > max_pairs:
        raise AllowedAddressPairExhausted(quota=max_pairs)
    seen: set[tuple[str | None, str]] = set()
    out = []
    for pair in value:
        if not isinstance(pair, dict):
            raise v.bad(ADDRESS_PAIRS, f"'{pair}' is not a dictionary")
        pair_out: dict[str, Any] = {}
        if "mac_address" in pair:
            try:
                pair_out["mac_address"] = macs.validate_mac(pair["mac_address"])
            except exc.HTTPBadRequest:
                raise exc.HTTPBadRequest(
                    f"'{pair['mac_address']}' is not a valid MAC address") from None
        if "ip_address" not in pair:
            raise AllowedAddressPairsMissingIP()
        key = (pair.get("mac_address"), pair["ip_address"])
        if key in seen:
            raise DuplicateAddressPairInRequest(mac_address=key[0], ip_address=key[1])
        seen.add(key)
        unknown = set(pair) - PAIR_KEYS
        if unknown:
            raise exc.HTTPBadRequest(f"Unrecognized attribute(s) '{', '.join(sorted(unknown))}'")
        pair_out["ip_address"] = _ip_or_cidr(pair["ip_address"])
        out.append(pair_out)
    return out


FEATURE = Feature(
    "allowed-address-pairs",
    (Extension("allowed-address-pairs", "Allowed Address Pairs",
               "Provides allowed address pairs", "2013-07-23T10:00:00-00:00"),),
    adds={"ports": (Attr(ADDRESS_PAIRS, convert=validate_pairs, default=UNSET,
                         allow_put=True, enforce_policy=True, filterable=False,
                         sortable=False),)})
