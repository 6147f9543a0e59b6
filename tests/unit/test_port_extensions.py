"""Pure validation of the port extension attributes."""

from __future__ import annotations

import pytest

from neutrino import exceptions as exc
from neutrino.resources import allowed_address_pairs as aap
from neutrino.resources import extra_dhcp_opts as edo
from neutrino.resources.port_security_groups import uuid_list_or_none

G1 = "6f5b0d8e-2a4b-4c1e-9d7a-0b1c2d3e4f50"
G2 = "7f5b0d8e-2a4b-4c1e-9d7a-0b1c2d3e4f51"


def test_group_list() -> None:
    assert uuid_list_or_none(None) is None
    assert uuid_list_or_none([]) == []
    assert uuid_list_or_none([G1, G2.upper()]) == [G1, G2]
    for bad in (["x"], [5], "x", {"a": 1}):
        with pytest.raises(exc.InvalidInput):
            uuid_list_or_none(bad)
    # The same group twice (in any case) is refused, as upstream's uuid_list.
    for twice in ([G1, G2, G1], [G1, G1.upper()]):
        with pytest.raises(exc.HTTPBadRequest, match="Duplicate items in the list"):
            uuid_list_or_none(twice)


def test_pairs_valid() -> None:
    assert aap.validate_pairs([]) == []
    assert aap.validate_pairs([{"ip_address": "10.0.0.1"},
                               {"ip_address": "10.0.0.0/8", "mac_address": "FA:16:3E:00:00:01"},
                               {"ip_address": "2001:DB8::1"}]) == [
        {"ip_address": "10.0.0.1"},
        {"ip_address": "10.0.0.0/8", "mac_address": "fa:16:3e:00:00:01"},
        {"ip_address": "2001:DB8::1"}]


@pytest.mark.parametrize(("value", "error"), [
    (None, exc.HTTPBadRequest),
    ({"ip_address": "10.0.0.1"}, exc.HTTPBadRequest),
    (["10.0.0.1"], exc.HTTPBadRequest),
    ([{}], aap.AllowedAddressPairsMissingIP),
    ([{"ip_address": "x"}], exc.HTTPBadRequest),
    ([{"ip_address": " 10.0.0.1"}], exc.HTTPBadRequest),
    ([{"ip_address": 10}], exc.HTTPBadRequest),
    ([{"ip_address": "10.0.0.1", "mac_address": "ff:ff:ff:ff:ff:ff"}], exc.HTTPBadRequest),
    ([{"ip_address": "10.0.0.1"}, {"ip_address": "10.0.0.1"}],
     aap.DuplicateAddressPairInRequest),
])
def test_pairs_invalid(value: object, error: type) -> None:
    with pytest.raises(error):
        aap.validate_pairs(value)


def test_pairs_maximum() -> None:
    pairs = [{"ip_address": f"10.0.0.{i}"} for i in range(3)]
    assert len(aap.validate_pairs(pairs, 3)) == 3
    with pytest.raises(aap.AllowedAddressPairExhausted) as info:
        aap.validate_pairs(pairs, 2)
    assert info.value.msg == "The number of allowed address pair exceeds the maximum 2."


def test_dhcp_opts_valid() -> None:
    assert edo.validate_opts(None) is None
    assert edo.validate_opts([{"opt_name": "a", "opt_value": "b"},
                              {"opt_name": "a", "opt_value": None, "ip_version": "6"},
                              {"opt_name": "router", "opt_value": ""}]) == [
        {"opt_name": "a", "opt_value": "b", "ip_version": 4},
        {"opt_name": "a", "opt_value": None, "ip_version": 6},
        {"opt_name": "router", "opt_value": "", "ip_version": 4}]


@pytest.mark.parametrize("value", [
    "x", [None], [{"opt_name": "a"}], [{"opt_name": "a", "opt_value": ""}],
    [{"opt_name": " ", "opt_value": "b"}], [{"opt_name": "a", "opt_value": "b", "ip_version": 5}],
    [{"opt_name": "a", "opt_value": "b", "ip_version": True}],
    [{"opt_name": "a", "opt_value": "v" * 256}],
    [{"opt_name": "a", "opt_value": "b"}, {"opt_name": "a", "opt_value": "c"}],
])
def test_dhcp_opts_invalid(value: object) -> None:
    with pytest.raises(exc.HTTPBadRequest):
        edo.validate_opts(value)


def test_stored_values() -> None:
    assert edo.is_stored_value("tftp-server", "x")
    assert not edo.is_stored_value("tftp-server", "")
    assert not edo.is_stored_value("tftp-server", None)
    assert edo.is_stored_value("router", "")
    assert not edo.is_stored_value("router", None)
