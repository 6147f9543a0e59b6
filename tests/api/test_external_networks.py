"""external-net over HTTP: router:external and is_default on networks, visibility of
external networks to every project, admin-only setting, in-use checks."""

from __future__ import annotations

import uuid

from l3_setup import external_network, router

from server import Api, assert_error


def member(api: Api) -> Api:
    return api.as_project(f"p-{uuid.uuid4().hex}", ["member"])


def test_external_network_attributes(own_project_admin: Api) -> None:
    api = own_project_admin
    net = api.network(name="public", **{"router:external": True})
    assert net["router:external"] is True and net["is_default"] is False
    plain = api.network(name="plain")
    assert plain["router:external"] is False and plain["is_default"] is False
    # As upstream: is_default is shown on external networks (and in any create's answer).
    assert "is_default" not in api.get(f"networks/{plain['id']}").json()["network"]
    assert api.get(f"networks/{net['id']}").json()["network"]["is_default"] is False
    project = api.client.headers["X-Project-Id"]
    listed = api.get(f"networks?project_id={project}&router:external=true").json()
    assert [n["id"] for n in listed["networks"]] == [net["id"]]
    listed = api.get(f"networks?project_id={project}&router:external=false").json()
    assert [n["id"] for n in listed["networks"]] == [plain["id"]]
    shown = api.get(f"networks/{net['id']}?fields=router:external").json()["network"]
    assert shown == {"router:external": True}


def test_visible_to_every_project(own_project_admin: Api) -> None:
    admin = own_project_admin
    ext, subnet = external_network(admin)
    private = admin.network(name="not-for-you")
    user = member(admin)
    assert user.get(f"networks/{ext['id']}").status_code == 200
    ids = [n["id"] for n in user.get("networks?fields=id").json()["networks"]]
    assert ext["id"] in ids and private["id"] not in ids
    assert user.get(f"networks/{private['id']}").status_code == 404
    # A project cannot make or unmake external networks.
    assert_error(user.post("networks", {"network": {"router:external": True}}), 403,
                 "PolicyNotAuthorized")
    own = user.network(name="mine")
    assert_error(user.put(f"networks/{own['id']}", {"network": {"router:external": True}}),
                 403, "PolicyNotAuthorized")
    # Turned internal again, it disappears for the others.
    response = admin.put(f"networks/{ext['id']}", {"network": {"router:external": False}})
    assert response.status_code == 200, response.text
    assert response.json()["network"]["router:external"] is False
    assert user.get(f"networks/{ext['id']}").status_code == 404


def test_in_use_by_gateway(own_project_admin: Api) -> None:
    api = own_project_admin
    ext, _ = external_network(api)
    r = router(api, external_gateway_info={"network_id": ext["id"]})
    response = api.put(f"networks/{ext['id']}", {"network": {"router:external": False}})
    assert_error(response, 409, "ExternalNetworkInUse")
    assert api.get(f"networks/{ext['id']}").json()["network"]["router:external"] is True
    assert_error(api.delete(f"networks/{ext['id']}"), 409, "NetworkInUse")
    api.put(f"routers/{r['id']}", {"router": {"external_gateway_info": None}})
    assert api.put(f"networks/{ext['id']}", {"network": {"router:external": False}}
                   ).status_code == 200


def test_single_default(own_project_admin: Api) -> None:
    api = own_project_admin
    first = api.network(**{"router:external": True, "is_default": True})
    try:
        assert first["is_default"] is True
        response = api.post("networks", {"network": {"router:external": True,
                                                     "is_default": True}})
        assert_error(response, 409, "DefaultExternalNetworkExists",
                     f"A default external network already exists: {first['id']}.")
        second = api.network(**{"router:external": True})
        assert_error(api.put(f"networks/{second['id']}", {"network": {"is_default": True}}),
                     409, "DefaultExternalNetworkExists")
        listed = api.get("networks?is_default=true").json()["networks"]
        assert [n["id"] for n in listed] == [first["id"]]
    finally:
        # The default is one per cloud: leave none for the other tests.
        api.put(f"networks/{first['id']}", {"network": {"is_default": False}})
