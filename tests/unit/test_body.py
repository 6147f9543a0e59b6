"""Request bodies: decoding, single vs bulk, defaults, read-only and unknown
attributes, and the exact upstream messages (transcripts 055-058, 083)."""

from __future__ import annotations

import pytest

from neutrino import exceptions as exc
from neutrino.api import body
from neutrino.context import Context
from neutrino.resources.network import NETWORK
from neutrino.resources.port import PORT
from neutrino.resources.subnet import SUBNET
from neutrino.services import prepare

ADMIN = Context.admin("fake_project_id")
MEMBER = Context(user_id="u", project_id="p1", roles=["member"])


def bad_request(fn, *args) -> exc.NeutronError:
    with pytest.raises(exc.NeutronError) as info:
        fn(*args)
    assert info.value.status == 400
    return info.value


@pytest.mark.parametrize("raw", [b"", b"not json at all", b'{"network": {"name": '])
def test_decode_invalid(raw: bytes) -> None:  # transcripts 057, 083
    err = bad_request(body.decode, raw)
    assert (err.type, err.msg) == ("HTTPBadRequest", "Body contains invalid data")


def test_decode_valid() -> None:
    assert body.decode(b'{"network": {}}') == {"network": {}}


def test_missing_body_key() -> None:  # transcript 058
    err = bad_request(body.items_for_create, NETWORK, {"name": "no-wrapper"})
    assert (err.type, err.msg) == ("HTTPBadRequest", "Unable to find 'network' in request body")


@pytest.mark.parametrize("payload", [[1, 2], [], "x", 3, None, True])
def test_body_not_an_object(payload) -> None:
    bad_request(body.items_for_create, NETWORK, payload)


@pytest.mark.parametrize("item", [None, [], "x", 1])
def test_item_not_an_object(item) -> None:
    bad_request(body.items_for_create, NETWORK, {"network": item})
    bad_request(body.single_item, NETWORK, {"network": item})


def test_single_and_bulk() -> None:
    assert body.items_for_create(NETWORK, {"network": {"name": "a"}}) == ([{"name": "a"}],
                                                                         False)
    items, bulk = body.items_for_create(
        NETWORK, {"networks": [{"name": "a"}, {"network": {"name": "b"}}]})
    assert bulk and items == [{"name": "a"}, {"name": "b"}]


@pytest.mark.parametrize("payload", [{"networks": []}, {"networks": {}},
                                     {"networks": "x"}, {"networks": [1]}])
def test_bad_bulk(payload) -> None:
    bad_request(body.items_for_create, NETWORK, payload)


def test_unknown_attribute() -> None:  # transcript 055
    err = bad_request(prepare.prepare_create, NETWORK, {"name": "bad", "foo": "bar"}, ADMIN)
    assert (err.type, err.msg) == ("HTTPBadRequest", "Unrecognized attribute(s) 'foo'")
    err = bad_request(prepare.prepare_update, NETWORK, {"foo": "bar"})
    assert err.msg == "Unrecognized attribute(s) 'foo'"


def test_bad_bool() -> None:  # transcript 056
    err = bad_request(prepare.prepare_create, NETWORK,
                      {"name": "bad", "admin_state_up": "notabool"}, ADMIN)
    assert (err.type, err.msg) == (
        "InvalidInput", "Invalid input for operation: 'notabool' cannot be converted to boolean.")


def test_network_defaults() -> None:
    data = prepare.prepare_create(NETWORK, {}, ADMIN)
    assert data["name"] == "" and data["description"] == ""
    assert data["admin_state_up"] is True and data["shared"] is False
    assert data["tags"] == [] and data["project_id"] == "fake_project_id"
    assert "tenant_id" not in data


def test_owner_project_from_body() -> None:
    assert prepare.prepare_create(NETWORK, {"tenant_id": "p2"}, ADMIN)["project_id"] == "p2"
    assert prepare.prepare_create(NETWORK, {"project_id": "p2", "tenant_id": "p2"},
                               ADMIN)["project_id"] == "p2"
    err = bad_request(prepare.prepare_create, NETWORK, {"project_id": "p2", "tenant_id": "p3"},
                      ADMIN)
    assert err.msg == "'project_id' and 'tenant_id' do not match"
    bad_request(prepare.prepare_create, NETWORK, {"project_id": "p2"}, MEMBER)
    assert prepare.prepare_create(NETWORK, {"project_id": "p1"}, MEMBER)["project_id"] == "p1"


def test_missing_required() -> None:
    err = bad_request(prepare.prepare_create, PORT, {}, ADMIN)
    assert err.msg == "Failed to parse request. Required attribute 'network_id' not specified"
    bad_request(prepare.prepare_create, SUBNET, {"network_id": "x"}, ADMIN)


def test_malformed_uuid_in_body() -> None:  # transcript 069
    err = bad_request(prepare.prepare_create, PORT, {"network_id": "not-a-uuid"}, ADMIN)
    assert (err.type, err.msg) == (
        "HTTPBadRequest", "Invalid input for network_id. Reason: 'not-a-uuid' is not a valid UUID.")


@pytest.mark.parametrize("item", [
    {"name": 123}, {"name": None}, {"name": "x" * 256}, {"description": "x" * 256},
    {"admin_state_up": "maybe"}, {"admin_state_up": None}, {"shared": [1]},
    {"tags": "x"}, {"tags": [1]}, {"tags": ["x" * 256]}, {"name": "a\x00b"}])
def test_wrong_types(item: dict) -> None:
    bad_request(prepare.prepare_create, NETWORK, item, ADMIN)
    bad_request(prepare.prepare_update, NETWORK, item)


@pytest.mark.parametrize("name", ["id", "status", "subnets", "created_at",
                                  "updated_at", "revision_number"])
def test_read_only_in_post(name: str) -> None:
    err = bad_request(prepare.prepare_create, NETWORK, {name: "x"}, ADMIN)
    assert err.msg == f"Attribute '{name}' not allowed in POST"


@pytest.mark.parametrize("resource, name", [
    (NETWORK, "id"), (NETWORK, "status"), (NETWORK, "project_id"), (NETWORK, "tenant_id"),
    (PORT, "network_id"), (SUBNET, "cidr"), (SUBNET, "ip_version")])
def test_read_only_in_put(resource, name: str) -> None:
    err = bad_request(prepare.prepare_update, resource, {name: "x"})
    assert err.msg == f"Cannot update read-only attribute {name}"


def test_update_converts() -> None:
    assert prepare.prepare_update(NETWORK, {"admin_state_up": "false", "name": "n"}) == \
        {"admin_state_up": False, "name": "n"}
