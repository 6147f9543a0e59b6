"""Values that differ only in case (or a trailing space) are different values on
every backend, as on PostgreSQL and SQLite (and upstream, whose ids are lower-case
strings): MariaDB's default collation took them for equal, so a unique key refused
tags ["a", "A"] (retried 20 times as a race, then 503), RBAC "projx" then "PROJX"
likewise, and an upper-case id in a path found the resource on MariaDB only."""

from __future__ import annotations

import uuid

from faults_fixtures import project_api

from server import Api, ServerProcess


def test_tags_differing_in_case_or_trailing_space(server: ServerProcess,
                                                  backend: str) -> None:
    api = project_api(server, backend)
    net = api.network(name="tags")
    response = api.put(f"networks/{net['id']}/tags", {"tags": ["a", "A", "b", "b "]})
    assert response.status_code == 200, response.text
    assert sorted(response.json()["tags"]) == ["A", "a", "b", "b "]
    assert sorted(api.get(f"networks/{net['id']}").json()["network"]["tags"]) == [
        "A", "a", "b", "b "]
    assert [n["id"] for n in api.get("networks?tags=A").json()["networks"]] == [net["id"]]
    assert api.get("networks?tags=B").json()["networks"] == []


def test_rbac_targets_differing_in_case(server: ServerProcess, backend: str) -> None:
    api = project_api(server, backend)
    net = api.network(name="rbac")
    for target in ("projx", "PROJX"):
        response = api.post("rbac-policies", {"rbac_policy": {
            "object_type": "network", "object_id": net["id"],
            "action": "access_as_shared", "target_tenant": target}})
        assert response.status_code == 201, response.text
    # A true duplicate is a 409 at once, not a retried race.
    again = api.post("rbac-policies", {"rbac_policy": {
        "object_type": "network", "object_id": net["id"],
        "action": "access_as_shared", "target_tenant": "projx"}})
    assert again.status_code == 409, again.text


def test_names_and_projects_are_case_sensitive(server: ServerProcess, backend: str) -> None:
    suffix = uuid.uuid4().hex[:8]
    upper = Api(server.url, backend=backend).as_project(f"Proj-{suffix}", ["admin"])
    lower = Api(server.url, backend=backend).as_project(f"proj-{suffix}", ["member"])
    net = upper.network(name=f"Net-{suffix}")
    # (External networks of other tests are visible to every project; not this one.)
    assert net["id"] not in {n["id"] for n in lower.get("networks").json()["networks"]}
    assert lower.get(f"networks/{net['id']}").status_code == 404
    assert upper.get(f"networks?name=net-{suffix}").json()["networks"] == []
    assert len(upper.get(f"networks?name=Net-{suffix}").json()["networks"]) == 1


def test_upper_case_id_in_path_is_not_found(server: ServerProcess, backend: str) -> None:
    api = project_api(server, backend)
    net = api.network(name="ids")
    assert api.get(f"networks/{net['id'].upper()}").status_code == 404
    assert api.get(f"networks?id={net['id'].upper()}").json()["networks"] == []
    assert api.get(f"networks/{net['id']}").status_code == 200
