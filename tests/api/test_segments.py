"""segment / standard-attr-segment: /v2.0/segments over the networks' segments,
allocation through the type drivers, and subnets' segment_id."""

from __future__ import annotations

import uuid

import openstack
import pytest

from server import TIME_RE, UNKNOWN, Api, assert_error


def physnet() -> str:
    return f"phys-{uuid.uuid4().hex[:8]}"


def segments_of(api: Api, network_id: str) -> list[dict]:
    response = api.get("segments", params={"network_id": network_id})
    assert response.status_code == 200, response.text
    return response.json()["segments"]


def test_network_segment_is_listed(own_project_admin: Api) -> None:
    net = own_project_admin.network()
    (seg,) = segments_of(own_project_admin, net["id"])
    assert set(seg) == {"id", "network_id", "network_type", "physical_network",
                        "segmentation_id", "name", "description", "created_at",
                        "updated_at", "revision_number"}
    assert seg["network_id"] == net["id"]
    assert seg["network_type"] == net["provider:network_type"] == "vxlan"
    assert seg["segmentation_id"] == net["provider:segmentation_id"]
    assert (seg["name"], seg["description"], seg["physical_network"]) == (None, None, None)
    assert TIME_RE.match(seg["created_at"])
    shown = own_project_admin.get(f"segments/{seg['id']}").json()["segment"]
    assert shown == seg


def test_create_update_delete(own_project_admin: Api) -> None:
    api = own_project_admin
    net = api.network()
    response = api.post("segments", {"segment": {
        "network_id": net["id"], "network_type": "vxlan", "name": "seg-b",
        "description": "second"}})
    assert response.status_code == 201, response.text
    seg = response.json()["segment"]
    assert (seg["network_type"], seg["name"], seg["description"]) == ("vxlan", "seg-b",
                                                                       "second")
    assert isinstance(seg["segmentation_id"], int)
    # The network now has two segments: multi-provider.
    shown = api.get(f"networks/{net['id']}").json()["network"]
    assert shown["provider:network_type"] is None
    assert len(shown["segments"]) == 2
    assert shown["segments"][1]["provider:segmentation_id"] == seg["segmentation_id"]
    updated = api.put(f"segments/{seg['id']}", {"segment": {"name": "renamed"}})
    assert updated.status_code == 200, updated.text
    assert updated.json()["segment"]["name"] == "renamed"
    assert updated.json()["segment"]["revision_number"] == seg["revision_number"] + 1
    assert_error(api.put(f"segments/{seg['id']}", {"segment": {"segmentation_id": 5}}),
                 400, "HTTPBadRequest", "Cannot update read-only attribute segmentation_id")
    assert api.delete(f"segments/{seg['id']}").status_code == 204
    assert_error(api.get(f"segments/{seg['id']}"), 404, "SegmentNotFound",
                 f"Segment {seg['id']} could not be found.")
    # Its VNI went back to the pool: it can be named again.
    again = api.network(**{"provider:network_type": "vxlan",
                           "provider:segmentation_id": seg["segmentation_id"]})
    assert again["provider:segmentation_id"] == seg["segmentation_id"]


def test_segment_ids_are_reserved_like_provider_networks(own_project_admin: Api) -> None:
    api = own_project_admin
    net = api.network()
    taken = api.network(**{"provider:network_type": "vxlan",
                           "provider:segmentation_id": 4000})
    response = api.post("segments", {"segment": {
        "network_id": net["id"], "network_type": "vxlan", "segmentation_id": 4000}})
    assert_error(response, 409, "TunnelIdInUse",
                 "Unable to create the network. The tunnel ID 4000 is in use.")
    name = physnet()
    flat = api.post("segments", {"segment": {"network_id": net["id"],
                                             "network_type": "flat",
                                             "physical_network": name}})
    assert flat.status_code == 201, flat.text
    assert_error(api.post("segments", {"segment": {
        "network_id": net["id"], "network_type": "flat", "physical_network": name}}),
        409, "FlatNetworkInUse")
    assert_error(api.post("segments", {"segment": {
        "network_id": net["id"], "network_type": "flat"}}), 400, "InvalidInput",
        "Invalid input for operation: physical_network required for flat provider "
        "network.")
    assert_error(api.post("segments", {"segment": {
        "network_id": net["id"], "network_type": "nope"}}), 400, "InvalidInput",
        "Invalid input for operation: network_type value 'nope' not supported.")
    assert len(segments_of(api, net["id"])) == 2
    assert taken["id"]


def test_create_errors(own_project_admin: Api) -> None:
    api = own_project_admin
    assert_error(api.post("segments", {"segment": {"network_id": UNKNOWN,
                                                   "network_type": "vxlan"}}),
                 404, "NetworkNotFound")
    assert_error(api.post("segments", {"segment": {"network_type": "vxlan"}}),
                 400, "HTTPBadRequest",
                 "Failed to parse request. Required attribute 'network_id' not specified")
    net = api.network()
    assert_error(api.post("segments", {"segment": {"network_id": net["id"]}}),
                 400, "HTTPBadRequest",
                 "Failed to parse request. Required attribute 'network_type' not "
                 "specified")
    assert_error(api.post("segments", {"segment": {
        "network_id": net["id"], "network_type": "vxlan", "segmentation_id": "x"}}),
        400, "InvalidInput", "Invalid input for operation: 'x' is not an integer.")


def test_filters_and_sorting(own_project_admin: Api) -> None:
    api = own_project_admin
    net = api.network()
    api.post("segments", {"segment": {"network_id": net["id"], "network_type": "vxlan",
                                      "segmentation_id": 4010, "name": "s4010"}})
    listed = api.get("segments", params={"network_id": net["id"],
                                         "segmentation_id": 4010}).json()["segments"]
    assert [s["name"] for s in listed] == ["s4010"]
    by_name = api.get("segments", params={"name": "s4010"}).json()["segments"]
    assert [s["segmentation_id"] for s in by_name] == [4010]
    ordered = api.get("segments", params={"network_id": net["id"],
                                          "sort_key": "segmentation_id",
                                          "sort_dir": "desc"}).json()["segments"]
    ids = [s["segmentation_id"] for s in ordered]
    assert ids == sorted(ids, reverse=True)


def test_admin_only(own_project_admin: Api) -> None:
    net = own_project_admin.network(shared=True)
    (seg,) = segments_of(own_project_admin, net["id"])
    member = own_project_admin.as_project(net["project_id"])
    assert member.get("segments", params={"network_id": net["id"]}).json() == {
        "segments": []}
    assert_error(member.get(f"segments/{seg['id']}"), 404, "SegmentNotFound")
    assert_error(member.post("segments", {"segment": {"network_id": net["id"],
                                                      "network_type": "vxlan"}}),
                 403, "PolicyNotAuthorized", "rule:create_segment is disallowed by policy")
    # Policy comes first: nothing is learnt about networks or types.
    for body in ({"network_id": UNKNOWN, "network_type": "vxlan"},
                 {"network_id": net["id"], "network_type": "nope"}):
        assert_error(member.post("segments", {"segment": body}), 403,
                     "PolicyNotAuthorized")
    assert_error(member.delete(f"segments/{seg['id']}"), 404, "SegmentNotFound")


def test_subnets_on_segments(own_project_admin: Api) -> None:
    api = own_project_admin
    net = api.network()
    (first,) = segments_of(api, net["id"])
    second = api.create("segment", network_id=net["id"], network_type="vxlan")
    sub1 = api.subnet(net["id"], "10.60.1.0/24", segment_id=first["id"])
    assert sub1["segment_id"] == first["id"]
    sub2 = api.subnet(net["id"], "10.60.2.0/24", segment_id=second["id"])
    assert api.get(f"subnets/{sub2['id']}").json()["subnet"]["segment_id"] == second["id"]
    listed = api.get("subnets", params={"segment_id": second["id"]}).json()["subnets"]
    assert [s["id"] for s in listed] == [sub2["id"]]
    # All subnets of a network have a segment, or none has.
    response = api.post("subnets", {"subnet": {"network_id": net["id"], "ip_version": 4,
                                               "cidr": "10.60.3.0/24"}})
    assert_error(response, 400, "SubnetsNotAllAssociatedWithSegments",
                 f"All of the subnets on network '{net['id']}' must either all be "
                 "associated with segments or all not associated with any segment.")
    # A segment with subnets cannot go.
    assert_error(api.delete(f"segments/{second['id']}"), 409, "SegmentInUse",
                 f"Segment '{second['id']}' cannot be deleted: The segment is still "
                 f"associated with subnet(s) {sub2['id']}.")
    assert api.delete(f"subnets/{sub2['id']}").status_code == 204
    assert api.delete(f"segments/{second['id']}").status_code == 204
    # The network goes with its segments and subnets.
    assert api.delete(f"networks/{net['id']}").status_code == 204
    assert segments_of(api, net["id"]) == []


def test_subnet_segment_must_be_the_networks(own_project_admin: Api) -> None:
    api = own_project_admin
    net, other = api.network(), api.network()
    (foreign,) = segments_of(api, other["id"])
    response = api.post("subnets", {"subnet": {"network_id": net["id"], "ip_version": 4,
                                               "cidr": "10.61.0.0/24",
                                               "segment_id": foreign["id"]}})
    assert_error(response, 400, "NetworkIdsDontMatch",
                 f"The subnet's network id, '{net['id']}', doesn't match the network_id "
                 f"of segment '{foreign['id']}'")
    response = api.post("subnets", {"subnet": {"network_id": net["id"], "ip_version": 4,
                                               "cidr": "10.61.0.0/24",
                                               "segment_id": UNKNOWN}})
    assert_error(response, 404, "SegmentNotFound")
    assert api.get("subnets", params={"network_id": net["id"]}).json()["subnets"] == []
    plain = api.subnet(net["id"], "10.61.1.0/24")
    assert plain["segment_id"] is None
    (own,) = segments_of(api, net["id"])
    response = api.post("subnets", {"subnet": {"network_id": net["id"], "ip_version": 4,
                                               "cidr": "10.61.2.0/24",
                                               "segment_id": own["id"]}})
    assert_error(response, 400, "SubnetsNotAllAssociatedWithSegments")
    assert_error(api.put(f"subnets/{plain['id']}", {"subnet": {"segment_id": own["id"]}}),
                 400, "HTTPBadRequest", "Cannot update read-only attribute segment_id")


@pytest.mark.parametrize("verb", ["list", "get"])
def test_openstacksdk_segments(own_project_admin: Api, verb: str,
                               conn: openstack.connection.Connection) -> None:
    net = own_project_admin.network()
    seg = conn.network.create_segment(network_id=net["id"], network_type="vxlan",
                                      name="sdk-seg")
    assert seg.name == "sdk-seg"
    if verb == "list":
        found = [s.id for s in conn.network.segments(network_id=net["id"])]
        assert seg.id in found and len(found) == 2
    else:
        assert conn.network.get_segment(seg.id).segmentation_id == seg.segmentation_id
    seg = conn.network.update_segment(seg, name="sdk-renamed")
    assert conn.network.get_segment(seg.id).name == "sdk-renamed"
    conn.network.delete_segment(seg.id)
    assert [s.id for s in conn.network.segments(network_id=net["id"])] != [seg.id]
    assert len(list(conn.network.segments(network_id=net["id"]))) == 1
