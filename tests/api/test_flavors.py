"""Service providers (service-type), flavors and service profiles (flavors) and
routers created with a flavor (l3-flavors), over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends import database
from server import UNKNOWN, Api, ServerProcess, assert_error

L3 = "neutron.services.l3_router.service_providers."
SINGLE_NODE = L3 + "single_node.SingleNodeDriver"
DVR = L3 + "dvr.DvrDriver"


def test_extensions_are_listed(api: Api) -> None:
    aliases = {e["alias"] for e in api.get("extensions").json()["extensions"]}
    assert {"service-type", "flavors", "l3-flavors"} <= aliases


# -- service-type ---------------------------------------------------------------------

def test_service_providers_default_to_upstreams_l3_ones(api: Api) -> None:
    member = api.as_project(f"p-{uuid.uuid4().hex}")
    response = member.get("service-providers")
    assert response.status_code == 200, response.text
    assert response.json()["service_providers"] == [
        {"service_type": "L3_ROUTER_NAT", "name": name, "default": False}
        for name in ("dvrha", "dvr", "ha", "single_node")]
    names = member.get("service-providers?name=ha&fields=name").json()["service_providers"]
    assert names == [{"name": "ha"}]
    assert member.get("service-providers?default=true").json()["service_providers"] == []
    sorted_ = api.get("service-providers?sort_key=name&sort_dir=asc").json()
    assert [p["name"] for p in sorted_["service_providers"]] == [
        "dvr", "dvrha", "ha", "single_node"]
    assert_error(api.get("service-providers?driver=x"), 400, "HTTPBadRequest")
    assert api.post("service-providers", {"service_provider": {}}).status_code == 405


@pytest.fixture
def configured(backend: str, tmp_path: Path) -> Iterator[ServerProcess]:
    extra = ("[service_providers]\n"
             "service_provider = L3_ROUTER_NAT:single_node:my.l3.Driver:default\n"
             "service_provider = LOADBALANCERV2:haproxy:my.lb.Driver\n")
    with database(backend, tmp_path) as url, \
            ServerProcess(tmp_path, url, extra_conf=extra) as proc:
        yield proc


def test_configured_service_providers(configured: ServerProcess) -> None:
    api = Api(configured.url)
    listed = api.get("service-providers").json()["service_providers"]
    # single_node is the configured one (with its driver); the other defaults stay.
    assert listed == [
        {"service_type": "L3_ROUTER_NAT", "name": "single_node", "default": True},
        {"service_type": "LOADBALANCERV2", "name": "haproxy", "default": False},
        *[{"service_type": "L3_ROUTER_NAT", "name": name, "default": False}
          for name in ("dvrha", "dvr", "ha")]]
    created = api.post("service_profiles", {"service_profile": {"driver": "my.lb.Driver"}})
    assert created.status_code == 201, created.text
    assert_error(api.post("service_profiles", {"service_profile": {"driver": SINGLE_NODE}}),
                 404, "ServiceProfileDriverNotFound")


# -- flavors and service profiles -------------------------------------------------------

def profile(api: Api, **attrs: object) -> dict:
    response = api.post("service_profiles", {"service_profile": attrs})
    assert response.status_code == 201, response.text
    return response.json()["service_profile"]


def flavor(api: Api, **attrs: object) -> dict:
    response = api.post("flavors", {"flavor": attrs})
    assert response.status_code == 201, response.text
    return response.json()["flavor"]


def test_service_profile_lifecycle(api: Api) -> None:
    sp = profile(api, description="sp", metainfo='{"data": "value"}', driver="")
    assert sp == {"id": sp["id"], "description": "sp", "driver": "", "enabled": True,
                  "metainfo": '{"data": "value"}'}
    assert api.get(f"service_profiles/{sp['id']}").json()["service_profile"] == sp
    updated = api.put(f"service_profiles/{sp['id']}", {"service_profile": {
        "enabled": False}})
    assert updated.status_code == 200, updated.text
    assert updated.json()["service_profile"]["enabled"] is False
    assert [p["id"] for p in api.get(f"service_profiles?id={sp['id']}").json()[
        "service_profiles"]] == [sp["id"]]
    assert api.get("service_profiles?id=33").json()["service_profiles"] == []
    assert api.delete(f"service_profiles/{sp['id']}").status_code == 204
    assert_error(api.get(f"service_profiles/{sp['id']}"), 404, "ServiceProfileNotFound",
                 f"Service Profile {sp['id']} could not be found.")


def test_service_profile_validation(api: Api) -> None:
    assert_error(api.post("service_profiles", {"service_profile": {"description": "x"}}),
                 400, "ServiceProfileEmpty",
                 "Service Profile needs either a driver or metainfo.")
    assert_error(api.post("service_profiles", {"service_profile": {"driver": "no.Such"}}),
                 404, "ServiceProfileDriverNotFound",
                 "Service Profile driver no.Such could not be found.")
    sp = profile(api, driver=SINGLE_NODE)
    assert sp["driver"] == SINGLE_NODE and sp["metainfo"] == ""
    assert_error(api.put(f"service_profiles/{sp['id']}", {"service_profile": {
        "driver": "no.Such"}}), 404, "ServiceProfileDriverNotFound")
    api.delete(f"service_profiles/{sp['id']}")


def test_flavor_lifecycle(api: Api) -> None:
    fl = flavor(api, name="Best flavor", description="by tests", service_type="FLAVORS")
    assert fl == {"id": fl["id"], "name": "Best flavor", "description": "by tests",
                  "service_type": "FLAVORS", "service_profiles": [], "enabled": True}
    updated = api.put(f"flavors/{fl['id']}", {"flavor": {"enabled": False}})
    assert updated.json()["flavor"]["enabled"] is False
    assert_error(api.put(f"flavors/{fl['id']}", {"flavor": {"service_type": "FLAVORS"}}),
                 400, "HTTPBadRequest", "Cannot update read-only attribute service_type")
    assert [f["id"] for f in api.get(f"flavors?id={fl['id']}").json()["flavors"]] == [
        fl["id"]]
    assert api.get("flavors?id=33").json()["flavors"] == []
    assert api.delete(f"flavors/{fl['id']}").status_code == 204
    assert_error(api.get(f"flavors/{fl['id']}"), 404, "FlavorNotFound",
                 f"Flavor {fl['id']} could not be found.")
    assert_error(api.post("flavors", {"flavor": {"name": "x"}}), 400, "HTTPBadRequest",
                 "Failed to parse request. Required attribute 'service_type' not specified")
    assert_error(api.post("flavors", {"flavor": {"service_type": "LOADBALANCERV2"}}), 400,
                 "InvalidFlavorServiceType", "Invalid service type LOADBALANCERV2.")


def test_associations(api: Api) -> None:
    fl = flavor(api, service_type="L3_ROUTER_NAT")
    sp = profile(api, driver=SINGLE_NODE)
    path = f"flavors/{fl['id']}/service_profiles"
    response = api.post(path, {"service_profile": {"id": sp["id"]}})
    assert response.status_code == 201, response.text
    assert response.json() == {"service_profile": {"id": sp["id"]}}
    assert api.get(f"flavors/{fl['id']}").json()["flavor"]["service_profiles"] == [sp["id"]]
    assert_error(api.post(path, {"service_profile": {"id": sp["id"]}}), 409,
                 "FlavorServiceProfileBindingExists",
                 f"Service Profile {sp['id']} is already associated with flavor "
                 f"{fl['id']}.")
    assert_error(api.post(path, {"service_profile": {"id": UNKNOWN}}), 404,
                 "ServiceProfileNotFound")
    assert_error(api.post(f"flavors/{UNKNOWN}/service_profiles", {"service_profile": {
        "id": sp["id"]}}), 404, "FlavorNotFound")
    # A profile in use can be neither changed nor deleted.
    assert_error(api.delete(f"service_profiles/{sp['id']}"), 409, "ServiceProfileInUse",
                 f"Service Profile {sp['id']} is used by some service instance.")
    assert_error(api.put(f"service_profiles/{sp['id']}", {"service_profile": {
        "description": "x"}}), 409, "ServiceProfileInUse")
    assert api.delete(f"{path}/{sp['id']}").status_code == 204
    assert_error(api.delete(f"{path}/{sp['id']}"), 404,
                 "FlavorServiceProfileBindingNotFound",
                 f"Service Profile {sp['id']} is not associated with flavor {fl['id']}.")
    assert api.get(f"flavors/{fl['id']}").json()["flavor"]["service_profiles"] == []
    # ... and the flavor's service_profiles attribute sets them too.
    response = api.put(f"flavors/{fl['id']}", {"flavor": {"service_profiles": [sp["id"]]}})
    assert response.json()["flavor"]["service_profiles"] == [sp["id"]]
    assert api.delete(f"flavors/{fl['id']}").status_code == 204
    assert api.delete(f"service_profiles/{sp['id']}").status_code == 204


def test_policy(api: Api) -> None:
    fl = flavor(api, name="public", service_type="L3_ROUTER_NAT")
    sp = profile(api, driver=SINGLE_NODE)
    member = api.as_project(f"p-{uuid.uuid4().hex}")
    assert [f["name"] for f in member.get(f"flavors?id={fl['id']}").json()["flavors"]] == [
        "public"]
    assert member.get(f"flavors/{fl['id']}").status_code == 200
    assert_error(member.post("flavors", {"flavor": {"service_type": "L3_ROUTER_NAT"}}),
                 403, "PolicyNotAuthorized")
    assert_error(member.put(f"flavors/{fl['id']}", {"flavor": {"name": "x"}}), 403,
                 "PolicyNotAuthorized")
    assert_error(member.delete(f"flavors/{fl['id']}"), 403, "PolicyNotAuthorized")
    # Service profiles are the administrators' business, even to look at.
    assert member.get(f"service_profiles/{sp['id']}").status_code == 404
    assert member.get("service_profiles").json()["service_profiles"] == []
    assert_error(member.post("service_profiles", {"service_profile": {"metainfo": "m"}}),
                 403, "PolicyNotAuthorized")
    assert_error(member.post(f"flavors/{fl['id']}/service_profiles", {"service_profile": {
        "id": sp["id"]}}), 403, "PolicyNotAuthorized")
    assert_error(member.delete(f"flavors/{fl['id']}/service_profiles/{sp['id']}"), 403,
                 "PolicyNotAuthorized")
    api.delete(f"flavors/{fl['id']}")
    api.delete(f"service_profiles/{sp['id']}")


# -- l3-flavors -------------------------------------------------------------------------

@pytest.fixture
def l3_flavors(api: Api) -> Iterator[tuple[dict, dict]]:
    made = []
    for driver in (SINGLE_NODE, DVR):
        sp = profile(api, driver=driver)
        fl = flavor(api, name=f"router-{driver.rsplit('.', 1)[-1]}",
                    service_type="L3_ROUTER_NAT")
        assert api.post(f"flavors/{fl['id']}/service_profiles", {
            "service_profile": {"id": sp["id"]}}).status_code == 201
        made.append((fl, sp))
    yield made[0][0], made[1][0]
    for fl, sp in made:
        api.delete(f"flavors/{fl['id']}/service_profiles/{sp['id']}")
        api.delete(f"service_profiles/{sp['id']}")
        api.delete(f"flavors/{fl['id']}")


def test_router_with_flavor(api: Api, l3_flavors: tuple[dict, dict]) -> None:
    member = api.as_project(f"p-{uuid.uuid4().hex}")
    for fl in l3_flavors:
        router = member.create("router", name="r", flavor_id=fl["id"])
        assert router["flavor_id"] == fl["id"]
        shown = member.get(f"routers/{router['id']}").json()["router"]
        assert shown["flavor_id"] == fl["id"]
    # A flavor in use stays.
    assert_error(api.delete(f"flavors/{l3_flavors[0]['id']}"), 409, "FlavorInUse",
                 f"Flavor {l3_flavors[0]['id']} is used by some service instance.")
    # Upstream: the flavor's provider does not support distributed=True.
    assert api.post("routers", {"router": {"name": "r", "distributed": True,
                                           "flavor_id": l3_flavors[0]["id"]}}
                    ).status_code == 400
    assert_error(member.put(f"routers/{router['id']}", {"router": {
        "flavor_id": l3_flavors[0]["id"]}}), 400, "HTTPBadRequest")
    for listed in member.get("routers").json()["routers"]:
        assert member.delete(f"routers/{listed['id']}").status_code == 204
    assert member.get("routers").json()["routers"] == []


def test_router_flavor_checks(api: Api) -> None:
    member = api.as_project(f"p-{uuid.uuid4().hex}")

    def create(flavor_id: str) -> object:
        return member.post("routers", {"router": {"name": "r", "flavor_id": flavor_id}})

    assert_error(create(UNKNOWN), 404, "FlavorNotFound")
    other = flavor(api, service_type="FLAVORS")
    assert_error(create(other["id"]), 400, "InvalidInput")
    fl = flavor(api, service_type="L3_ROUTER_NAT")
    assert_error(create(fl["id"]), 404, "FlavorServiceProfileBindingNotFound",
                 f"Service Profile  is not associated with flavor {fl['id']}.")
    sp = profile(api, driver=SINGLE_NODE, enabled=False)
    api.post(f"flavors/{fl['id']}/service_profiles", {"service_profile": {"id": sp["id"]}})
    assert_error(create(fl["id"]), 503, "ServiceProfileDisabled",
                 "Service Profile is not enabled.")
    api.put(f"flavors/{fl['id']}", {"flavor": {"enabled": False}})
    assert_error(create(fl["id"]), 503, "FlavorDisabled", "Flavor is not enabled.")
    meta_only = profile(api, metainfo="{}")
    api.put(f"flavors/{fl['id']}", {"flavor": {"enabled": True,
                                               "service_profiles": [meta_only["id"]]}})
    assert_error(create(fl["id"]), 404, "ServiceProfileDriverNotFound")
    # Nothing was created by the refused requests.
    assert member.get("routers").json()["routers"] == []
    api.put(f"flavors/{fl['id']}", {"flavor": {"service_profiles": []}})
    for row in (fl, other):
        assert api.delete(f"flavors/{row['id']}").status_code == 204
    for row in (sp, meta_only):
        assert api.delete(f"service_profiles/{row['id']}").status_code == 204
