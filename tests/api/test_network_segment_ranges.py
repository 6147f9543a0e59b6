"""network-segment-range: the configured ranges as default ranges, administrators'
shared and per-project ranges, and project networks getting their ids from them."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import openstack

from server import Api, assert_error

PATH = "network_segment_ranges"


def default_vxlan(api: Api) -> dict:
    ranges = api.get(PATH, params={"network_type": "vxlan"}).json()[
        "network_segment_ranges"]
    (default,) = [r for r in ranges if r["default"]]
    return default


def create_range(api: Api, **attrs: object) -> dict:
    response = api.post(PATH, {"network_segment_range": attrs})
    assert response.status_code == 201, response.text
    return response.json()["network_segment_range"]


def test_configured_range_is_the_default(own_project_admin: Api) -> None:
    api = own_project_admin
    default = default_vxlan(api)
    assert {k: default[k] for k in ("name", "default", "shared", "project_id",
                                    "tenant_id", "network_type", "physical_network",
                                    "minimum", "maximum")} == {
        "name": None, "default": True, "shared": True, "project_id": None,
        "tenant_id": None, "network_type": "vxlan", "physical_network": None,
        "minimum": 1, "maximum": 1000}
    assert set(default) >= {"id", "description", "available", "used", "tags",
                            "created_at", "updated_at", "revision_number"}
    net = api.network()
    vni = net["provider:segmentation_id"]
    shown = api.get(f"{PATH}/{default['id']}").json()["network_segment_range"]
    assert shown["used"][str(vni)] == net["project_id"]
    assert vni not in shown["available"]
    assert_error(api.put(f"{PATH}/{default['id']}", {"network_segment_range": {
        "name": "x"}}), 400, "NetworkSegmentRangeDefaultReadOnly",
        f"Network Segment Range {default['id']} is a default segment range which could "
        "not be updated or deleted.")
    assert_error(api.delete(f"{PATH}/{default['id']}"), 400,
                 "NetworkSegmentRangeDefaultReadOnly")


def test_project_range_comes_first(own_project_admin: Api) -> None:
    admin = own_project_admin
    project = f"p-{uuid.uuid4().hex}"
    own = create_range(admin, name="own", shared=False, project_id=project,
                       network_type="vxlan", minimum=6000, maximum=6002)
    assert (own["shared"], own["project_id"], own["default"]) == (False, project, False)
    assert own["available"] == [6000, 6001, 6002]
    member = admin.as_project(project)
    vnis = [member.network()["id"] for _ in range(3)]
    shown = admin.get(f"{PATH}/{own['id']}").json()["network_segment_range"]
    assert shown["available"] == []
    assert sorted(shown["used"]) == ["6000", "6001", "6002"]
    assert set(shown["used"].values()) == {project}
    # The project's range is full: the next network comes from the shared ones.
    extra = admin.get(f"networks/{member.network()['id']}").json()["network"]
    assert 1 <= extra["provider:segmentation_id"] <= 1000
    # Other projects never get ids of this project's range.
    other = admin.network()
    assert not 6000 <= other["provider:segmentation_id"] <= 6002
    # In use: it cannot shrink below its networks, nor go.
    assert_error(admin.put(f"{PATH}/{own['id']}", {"network_segment_range": {
        "maximum": 6001}}), 409, "NetworkSegmentRangeReferencedByProject",
        f"Network Segment Range {own['id']} is referenced by one or more tenant "
        "networks.")
    assert_error(admin.delete(f"{PATH}/{own['id']}"), 409,
                 "NetworkSegmentRangeReferencedByProject")
    grown = admin.put(f"{PATH}/{own['id']}", {"network_segment_range": {
        "maximum": 6003, "name": "grown"}})
    assert grown.status_code == 200, grown.text
    body = grown.json()["network_segment_range"]
    assert (body["name"], body["maximum"], body["available"]) == ("grown", 6003, [6003])
    assert body["revision_number"] == own["revision_number"] + 1
    assert len(vnis) == 3


def test_shared_range_and_release(own_project_admin: Api) -> None:
    admin = own_project_admin
    shared = create_range(admin, name="shared-range", network_type="vxlan",
                          minimum=5000, maximum=5004)
    assert (shared["shared"], shared["project_id"]) == (True, None)
    assert shared["available"] == [5000, 5001, 5002, 5003, 5004]
    net = admin.network(**{"provider:network_type": "vxlan",
                           "provider:segmentation_id": 5002})
    shown = admin.get(f"{PATH}/{shared['id']}").json()["network_segment_range"]
    assert shown["available"] == [5000, 5001, 5003, 5004]
    assert shown["used"] == {"5002": net["project_id"]}
    assert admin.delete(f"networks/{net['id']}").status_code == 204
    shown = admin.get(f"{PATH}/{shared['id']}").json()["network_segment_range"]
    assert 5002 in shown["available"]
    assert admin.delete(f"{PATH}/{shared['id']}").status_code == 204
    assert_error(admin.get(f"{PATH}/{shared['id']}"), 404, "NetworkSegmentRangeNotFound",
                 f"Network Segment Range {shared['id']} could not be found.")


def test_vlan_range(own_project_admin: Api) -> None:
    physnet = f"phys-{uuid.uuid4().hex[:8]}"
    vlan = create_range(own_project_admin, network_type="vlan", physical_network=physnet,
                        minimum=100, maximum=103)
    assert vlan["physical_network"] == physnet
    assert vlan["available"] == [100, 101, 102, 103]
    listed = own_project_admin.get(PATH, params={"physical_network": physnet}).json()
    assert [r["id"] for r in listed["network_segment_ranges"]] == [vlan["id"]]


def test_invalid_ranges(own_project_admin: Api) -> None:
    api = own_project_admin

    def post(**attrs: object) -> object:
        return api.post(PATH, {"network_segment_range": attrs})

    assert_error(post(network_type="vlan", minimum=1, maximum=2), 400, "BadRequest",
                 "Bad network_segment_range request: Network type vlan requires "
                 "'physical_network' to be specified while creating new range.")
    assert_error(post(network_type="vlan", physical_network="p", minimum=1, maximum=5000),
                 400, "NetworkVlanRangeError",
                 "Invalid network VLAN range: '1:5000' - '5000 is not a valid VLAN tag'.")
    assert_error(post(network_type="vxlan", minimum=10, maximum=5), 400,
                 "NetworkTunnelRangeError",
                 "Invalid network tunnel range: '10:5' - End of tunnel range is less than "
                 "start of tunnel range.")
    assert_error(post(network_type="vxlan", minimum=1, maximum=2**24), 400,
                 "NetworkTunnelRangeError")
    assert_error(post(network_type="flat", minimum=1, maximum=2), 400, "HTTPBadRequest",
                 "Invalid input for network_type. Reason: 'flat' is not in ['vlan', "
                 "'vxlan', 'gre', 'geneve'].")
    assert_error(post(network_type="vxlan", minimum=0, maximum=2), 400, "HTTPBadRequest",
                 "Invalid input for minimum. Reason: '0' is not in range 1 through "
                 "4294967295.")
    assert_error(post(network_type="vxlan", minimum=1), 400, "HTTPBadRequest",
                 "Failed to parse request. Required attribute 'maximum' not specified")
    first = create_range(api, network_type="vxlan", minimum=7000, maximum=7010)
    assert_error(post(network_type="vxlan", minimum=7010, maximum=7020), 409,
                 "NetworkSegmentRangeOverlaps",
                 f"Network segment range overlaps with range(s) with id {first['id']}")
    # Overlapping the default range is how a range is carved for a project (the
    # caller's when none is given).
    project = api.network()["project_id"]
    inside = create_range(api, network_type="vxlan", minimum=900, maximum=901,
                          shared=False)
    assert (inside["project_id"], inside["shared"]) == (project, False)
    for item in (first, inside):
        assert api.delete(f"{PATH}/{item['id']}").status_code == 204


def test_admin_only(own_project_admin: Api) -> None:
    member = own_project_admin.as_project(f"p-{uuid.uuid4().hex}")
    assert member.get(PATH).json() == {"network_segment_ranges": []}
    assert_error(member.post(PATH, {"network_segment_range": {
        "network_type": "vxlan", "minimum": 8000, "maximum": 8001}}), 403,
        "PolicyNotAuthorized", "rule:create_network_segment_range is disallowed by policy")
    assert_error(member.post(PATH, {"network_segment_range": {
        "network_type": "vlan", "minimum": 8001, "maximum": 8000}}), 403,
        "PolicyNotAuthorized")
    default = default_vxlan(own_project_admin)
    assert_error(member.get(f"{PATH}/{default['id']}"), 404,
                 "NetworkSegmentRangeNotFound")


def test_openstacksdk_manages_ranges(own_project_admin: Api,
                                     conn: openstack.connection.Connection) -> None:
    created = conn.network.create_network_segment_range(
        name="sdk-range", network_type="vxlan", minimum=9000, maximum=9004)
    try:
        assert created.available == [9000, 9001, 9002, 9003, 9004]
        names = {r.name for r in conn.network.network_segment_ranges(network_type="vxlan")}
        assert "sdk-range" in names
        updated = conn.network.update_network_segment_range(created, name="sdk-renamed",
                                                            maximum=9005)
        assert (updated.name, updated.maximum) == ("sdk-renamed", 9005)
        # Tags (standard-attr-tag; openstacksdk has no tag calls for ranges).
        assert own_project_admin.put(f"{PATH}/{created.id}/tags/blue").status_code == 201
        assert conn.network.get_network_segment_range(created.id).tags == ["blue"]
        tagged = own_project_admin.get(PATH, params={"tags": "blue"}).json()
        assert [r["id"] for r in tagged["network_segment_ranges"]] == [created.id]
    finally:
        conn.network.delete_network_segment_range(created.id)


def test_parallel_creates_share_a_project_range(own_project_admin: Api) -> None:
    """Ids are claimed with conditional updates: parallel networks of a project never
    share one, and fill the project's range before the shared ones."""
    project = f"p-{uuid.uuid4().hex}"
    own = create_range(own_project_admin, shared=False, project_id=project,
                       network_type="vxlan", minimum=6100, maximum=6104)
    member = own_project_admin.as_project(project)
    with ThreadPoolExecutor(max_workers=8) as pool:
        nets = list(pool.map(lambda _: member.network()["id"], range(8)))
    vnis = [own_project_admin.get(f"networks/{n}").json()["network"]
            ["provider:segmentation_id"] for n in nets]
    assert len(set(vnis)) == 8
    assert sorted(v for v in vnis if 6100 <= v <= 6104) == [6100, 6101, 6102, 6103, 6104]
    shown = own_project_admin.get(f"{PATH}/{own['id']}").json()["network_segment_range"]
    assert shown["available"] == []


def test_hyphenated_path_is_served_too(own_project_admin: Api) -> None:
    """Upstream's clients (tempest, openstack-cli) use /v2.0/network-segment-ranges;
    the API reference and openstacksdk the underscore path: both are the same ranges."""
    api = own_project_admin
    created = api.post("network-segment-ranges", {"network_segment_range": {
        "name": "hyphen", "shared": True, "network_type": "vxlan", "minimum": 7100,
        "maximum": 7101}})
    assert created.status_code == 201, created.text
    range_id = created.json()["network_segment_range"]["id"]
    listed = api.get("network-segment-ranges", params={"name": "hyphen"}).json()
    assert [r["id"] for r in listed["network_segment_ranges"]] == [range_id]
    assert api.get(f"{PATH}/{range_id}").json()["network_segment_range"]["name"] == "hyphen"
    updated = api.put(f"network-segment-ranges/{range_id}",
                      {"network_segment_range": {"name": "renamed"}})
    assert updated.status_code == 200, updated.text
    assert api.get(f"network-segment-ranges/{range_id}").json()[
        "network_segment_range"]["name"] == "renamed"
    assert api.delete(f"network-segment-ranges/{range_id}").status_code == 204
    assert_error(api.get(f"{PATH}/{range_id}"), 404, "NetworkSegmentRangeNotFound")


def test_provider_type_only_takes_the_projects_range(own_project_admin: Api) -> None:
    """neutron-tempest-plugin's NetworkSegmentRangeTestJson: an admin's network for a
    project naming only provider:network_type gets its id from that project's range
    (upstream's partially specified segment), so the range is then in use."""
    admin = own_project_admin
    project = f"p-{uuid.uuid4().hex}"
    own = create_range(admin, name="typed", shared=False, project_id=project,
                       network_type="vxlan", minimum=6200, maximum=6205)
    net = admin.network(project_id=project, **{"provider:network_type": "vxlan"})
    assert 6200 <= net["provider:segmentation_id"] <= 6205
    assert_error(admin.delete(f"{PATH}/{own['id']}"), 409,
                 "NetworkSegmentRangeReferencedByProject")
    assert_error(admin.put(f"{PATH}/{own['id']}", {"network_segment_range": {
        "minimum": net["provider:segmentation_id"] + 1, "maximum": 6250}}), 409,
        "NetworkSegmentRangeReferencedByProject")
    # Without a range of its own a project's typed network still gets an id.
    other = admin.network(project_id=f"p-{uuid.uuid4().hex}",
                          **{"provider:network_type": "vxlan"})
    assert not 6200 <= other["provider:segmentation_id"] <= 6205
    assert admin.delete(f"networks/{net['id']}").status_code == 204
    assert admin.delete(f"{PATH}/{own['id']}").status_code == 204
