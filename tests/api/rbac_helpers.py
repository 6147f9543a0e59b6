"""RBAC sharing in API tests: projects of their own and access_as_shared policies."""

from __future__ import annotations

import uuid

import httpx

from server import Api, assert_error


def project() -> str:
    """A project id no other test uses."""
    return f"p-{uuid.uuid4().hex[:8]}"


def pid(api: Api) -> str:
    """The project an Api client acts as."""
    return api.client.headers["X-Project-Id"]


def share(api: Api, object_id: str, target: str | None, object_type: str = "network",
          action: str = "access_as_shared", **extra: object) -> httpx.Response:
    """POST an RBAC policy for object_id (the response, successful or not)."""
    return api.post("rbac-policies", {"rbac_policy": {
        "object_type": object_type, "object_id": object_id, "action": action,
        "target_tenant": target, **extra}})


def three_projects(api: Api) -> tuple[Api, Api, Api]:
    """Three member projects: A owns things, B gets them shared, C does not."""
    return (api.as_project(project()), api.as_project(project()),
            api.as_project(project()))


def ids_of(api: Api, collection: str, query: str = "") -> set[str]:
    """The ids a client sees listing `collection` (its URL path, e.g. address-scopes)."""
    response = api.get(f"{collection}?{query}")
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()[collection.replace("-", "_")]}


def assert_in_use(response: httpx.Response, object_id: str, project_id: str) -> None:
    """409 RbacPolicyInUse: a project still uses the object the policy shares it."""
    assert_error(response, 409, "RbacPolicyInUse",
                 f"RBAC policy on object {object_id} cannot be removed because other "
                 f"objects depend on it.\nDetails: project_id={project_id}")
