"""quota-check-limit and quota-check-limit-default: a quota update refuses a limit
below what the project already uses, unless the body says "force": true."""

from __future__ import annotations

import uuid

from server import Api, assert_error


def test_extensions_are_listed(api: Api) -> None:
    aliases = [e["alias"] for e in api.get("extensions").json()["extensions"]]
    assert {"quota-check-limit", "quota-check-limit-default"} <= set(aliases)
    ext = api.get("extensions/quota-check-limit-default").json()["extension"]
    assert ext["name"] == "Quota engine limit check by default"


def test_a_limit_below_the_usage_is_refused_by_default(api: Api) -> None:
    pid = f"p-{uuid.uuid4().hex[:8]}"
    member = api.as_project(pid)
    for i in range(2):
        member.network(name=f"n{i}")
    # At or above the usage, and unlimited: fine.
    for limit in (2, 5, -1):
        response = api.put(f"quotas/{pid}", {"quota": {"network": limit}})
        assert response.status_code == 200, response.text
        assert response.json()["quota"]["network"] == limit
    for body in ({"network": 1}, {"network": 1, "check_limit": True},
                 {"network": 1, "force": False}, {"network": "1", "force": "false"}):
        assert_error(api.put(f"quotas/{pid}", {"quota": body}), 400, "HTTPBadRequest",
                     "Quota limit 1 for network must be greater than or equal to already "
                     "used 2")
    # Nothing of a refused update is applied, not even its valid part.
    assert_error(api.put(f"quotas/{pid}", {"quota": {"subnet": 3, "network": 0}}), 400,
                 "HTTPBadRequest")
    shown = api.get(f"quotas/{pid}").json()["quota"]
    assert (shown["network"], shown["subnet"]) == (-1, 100)
    api.delete(f"quotas/{pid}")


def test_force_skips_the_check(api: Api) -> None:
    pid = f"p-{uuid.uuid4().hex[:8]}"
    api.as_project(pid).network(name="n")
    response = api.put(f"quotas/{pid}", {"quota": {"network": 0, "force": True}})
    assert response.status_code == 200, response.text
    assert response.json()["quota"]["network"] == 0
    assert "force" not in response.json()["quota"]
    assert_error(api.as_project(pid).post("networks", {"network": {}}), 409, "OverQuota")
    assert_error(api.put(f"quotas/{pid}", {"quota": {"network": 0, "force": "maybe"}}),
                 400, "InvalidInput")
    api.delete(f"quotas/{pid}")
