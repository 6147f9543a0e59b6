"""Tags (standard-attr-tag, tag-creation): /{collection}/{id}/tags[/{tag}], tag filters."""

from __future__ import annotations

import uuid

import pytest

from server import Api, error_of


def unique() -> str:
    return uuid.uuid4().hex[:8]


def make(api: Api, collection: str) -> dict:
    if collection == "networks":
        return api.network()
    if collection == "routers":
        return api.create("router")
    if collection == "subnetpools":
        return api.create("subnetpool", name=unique(), prefixes=["10.200.0.0/16"])
    if collection == "security-groups":
        return api.create("security_group", name=unique())
    net = api.network()
    if collection == "subnets":
        return api.subnet(net["id"], "10.0.0.0/24")
    return api.port(net["id"])


def show(api: Api, collection: str, item_id: str) -> dict:
    response = api.get(f"{collection}/{item_id}")
    assert response.status_code == 200, response.text
    return response.json()[collection[:-1].replace("-", "_")]


@pytest.mark.parametrize("collection", ["networks", "subnets", "ports"])
def test_tag_lifecycle(api: Api, collection: str) -> None:
    item = make(api, collection)
    base = f"{collection}/{item['id']}/tags"
    assert item["tags"] == []
    rev = item["revision_number"]

    response = api.put(base, {"tags": ["red", "blue", "red"]})
    assert response.status_code == 200, response.text
    assert sorted(response.json()["tags"]) == ["blue", "red"]
    assert sorted(api.get(base).json()["tags"]) == ["blue", "red"]
    current = show(api, collection, item["id"])
    assert sorted(current["tags"]) == ["blue", "red"]
    assert current["revision_number"] > rev
    rev = current["revision_number"]

    # Replace: what is not given goes away.
    assert sorted(api.put(base, {"tags": ["green"]}).json()["tags"]) == ["green"]
    assert api.get(base).json() == {"tags": ["green"]}

    # Add one.
    response = api.put(f"{base}/yellow")
    assert response.status_code == 201, response.text
    assert sorted(api.get(base).json()["tags"]) == ["green", "yellow"]
    # Adding an existing tag again is fine.
    assert api.put(f"{base}/yellow").status_code == 201
    current = show(api, collection, item["id"])
    assert current["revision_number"] > rev
    rev = current["revision_number"]

    # Check one.
    response = api.get(f"{base}/yellow")
    assert response.status_code == 204, response.text
    assert response.content == b""
    response = api.get(f"{base}/purple")
    assert response.status_code == 404, response.text
    assert error_of(response) == {"type": "TagNotFound",
                                  "message": "Tag purple could not be found.", "detail": ""}

    # Remove one.
    assert api.delete(f"{base}/yellow").status_code == 204
    assert api.get(base).json() == {"tags": ["green"]}
    response = api.delete(f"{base}/yellow")
    assert response.status_code == 404, response.text
    assert error_of(response)["type"] == "TagNotFound"
    assert show(api, collection, item["id"])["revision_number"] > rev

    # Remove all.
    response = api.delete(base)
    assert response.status_code == 204, response.text
    assert api.get(base).json() == {"tags": []}
    assert show(api, collection, item["id"])["tags"] == []


@pytest.mark.parametrize("collection", ["networks", "subnets", "ports"])
def test_tags_at_create(api: Api, collection: str) -> None:
    net = api.network(tags=["a", "b"]) if collection == "networks" else api.network()
    if collection == "networks":
        item = net
    elif collection == "subnets":
        item = api.subnet(net["id"], "10.1.0.0/24", tags=["a", "b"])
    else:
        item = api.port(net["id"], tags=["a", "b"])
    assert sorted(item["tags"]) == ["a", "b"]
    assert sorted(show(api, collection, item["id"])["tags"]) == ["a", "b"]
    assert sorted(api.get(f"{collection}/{item['id']}/tags").json()["tags"]) == ["a", "b"]


@pytest.mark.parametrize("collection", ["networks", "subnets", "ports", "routers",
                                        "subnetpools", "security-groups"])
def test_post_adds_tags(api: Api, collection: str) -> None:
    """tag-creation (openstacksdk's add_tags): POST adds, keeps the existing tags and
    answers 200 with the request's tags, as upstream."""
    item = make(api, collection)
    base = f"{collection}/{item['id']}/tags"
    assert api.put(f"{base}/old").status_code == 201
    rev = show(api, collection, item["id"])["revision_number"]

    response = api.post(base, {"tags": ["b", "a", "old"]})
    assert response.status_code == 200, response.text
    assert response.json() == {"tags": ["b", "a", "old"]}
    assert sorted(api.get(base).json()["tags"]) == ["a", "b", "old"]
    current = show(api, collection, item["id"])
    assert sorted(current["tags"]) == ["a", "b", "old"]
    assert current["revision_number"] > rev

    # Nothing new: nothing changes, not even the revision.
    rev = current["revision_number"]
    response = api.post(base, {"tags": ["a"]})
    assert response.status_code == 200, response.text
    assert response.json() == {"tags": ["a"]}
    response = api.post(base, {"tags": []})
    assert response.status_code == 200, response.text
    assert response.json() == {"tags": []}
    current = show(api, collection, item["id"])
    assert sorted(current["tags"]) == ["a", "b", "old"]
    assert current["revision_number"] == rev


@pytest.mark.parametrize("body, message", [
    ({}, "Invalid tags body"),
    ({"tag": ["a"]}, "Invalid tags body"),
    (["a"], "Invalid tags body"),
    ({"tags": "notalist"}, "'notalist' is not a list"),
    ({"tags": ["x", "y", "x"]}, "Duplicate items in the list: 'x'"),
    ({"tags": ["ok", 1]}, "'1' is not a valid string"),
    ({"tags": ["ok", None]}, "'None' is not a valid string"),
    ({"tags": ["ok", ""]}, "'' is not a valid string"),
    ({"tags": ["ok", "x" * 256]}, f"'{'x' * 256}' exceeds maximum length of 255"),
])
def test_post_invalid_tags_change_nothing(api: Api, body: object, message: str) -> None:
    net = api.network(tags=["keep"])
    base = f"networks/{net['id']}/tags"
    response = api.post(base, body)
    assert response.status_code == 400, response.text
    assert error_of(response) == {"type": "InvalidInput", "detail": "",
                                  "message": f"Invalid input for operation: {message}."}
    assert api.get(base).json() == {"tags": ["keep"]}
    assert show(api, "networks", net["id"])["revision_number"] == net["revision_number"]


def test_post_tags_visibility_and_policy(api: Api) -> None:
    a = api.as_project(f"p-{unique()}")
    b = api.as_project(f"p-{unique()}")
    net = a.network(tags=["mine"])
    response = b.post(f"networks/{net['id']}/tags", {"tags": ["x"]})
    assert response.status_code == 404, response.text
    assert error_of(response)["type"] == "NetworkNotFound"
    missing = str(uuid.uuid4())
    response = a.post(f"ports/{missing}/tags", {"tags": ["x"]})
    assert response.status_code == 404, response.text
    assert error_of(response)["type"] == "PortNotFound"
    # A shared network's tags are not the other projects' to add to.
    shared = api.network(shared=True, tags=["pub"])
    response = b.post(f"networks/{shared['id']}/tags", {"tags": ["x"]})
    assert response.status_code == 403, response.text
    assert error_of(response)["type"] == "PolicyNotAuthorized"
    assert api.get(f"networks/{shared['id']}/tags").json() == {"tags": ["pub"]}
    assert a.get(f"networks/{net['id']}/tags").json() == {"tags": ["mine"]}


def test_tag_with_special_characters(api: Api) -> None:
    net = api.network()
    base = f"networks/{net['id']}/tags"
    assert api.put(f"{base}/with%20space").status_code == 201
    assert api.get(f"{base}/with%20space").status_code == 204
    assert api.get(base).json() == {"tags": ["with space"]}


@pytest.mark.parametrize("tags", [["x" * 256], [1], [None], [""], "notalist", [["a"]],
                                  {"a": 1}])
def test_invalid_tags_are_400(api: Api, tags: object) -> None:
    net = api.network()
    response = api.put(f"networks/{net['id']}/tags", {"tags": tags})
    assert response.status_code == 400, response.text
    assert error_of(response)["type"] in ("InvalidInput", "HTTPBadRequest")
    assert api.get(f"networks/{net['id']}/tags").json() == {"tags": []}
    response = api.post("networks", {"network": {"tags": tags}})
    assert response.status_code == 400, response.text


def test_tag_length_limits(api: Api) -> None:
    net = api.network()
    base = f"networks/{net['id']}/tags"
    assert api.put(f"{base}/{'x' * 255}").status_code == 201
    response = api.put(f"{base}/{'y' * 256}")
    assert response.status_code == 400, response.text
    assert api.get(base).json() == {"tags": ["x" * 255]}


@pytest.mark.parametrize("body", [{}, {"tag": ["a"]}, [], "x"])
def test_put_tags_without_tags_key_is_400(api: Api, body: object) -> None:
    net = api.network()
    response = api.put(f"networks/{net['id']}/tags", body)
    assert response.status_code == 400, response.text


def test_tags_of_unknown_or_malformed_resource(api: Api) -> None:
    missing = str(uuid.uuid4())
    for method, path in [("GET", f"networks/{missing}/tags"),
                         ("PUT", f"networks/{missing}/tags/a"),
                         ("DELETE", f"networks/{missing}/tags"),
                         ("GET", "networks/not-a-uuid/tags")]:
        response = api.request(method, path)
        assert response.status_code == 404, (method, path, response.text)
        assert error_of(response)["type"] == "NetworkNotFound"
    response = api.put(f"ports/{missing}/tags", {"tags": ["a"]})
    assert response.status_code == 404, response.text
    assert error_of(response)["type"] == "PortNotFound"


def test_other_projects_resource_tags_are_404(api: Api) -> None:
    a = api.as_project(f"p-{unique()}")
    b = api.as_project(f"p-{unique()}")
    net = a.network(tags=["mine"])
    for method, path in [("GET", f"networks/{net['id']}/tags"),
                         ("PUT", f"networks/{net['id']}/tags"),
                         ("GET", f"networks/{net['id']}/tags/mine"),
                         ("PUT", f"networks/{net['id']}/tags/x"),
                         ("DELETE", f"networks/{net['id']}/tags/mine"),
                         ("DELETE", f"networks/{net['id']}/tags")]:
        kwargs = {"json": {"tags": ["x"]}} if method == "PUT" else {}
        response = b.request(method, path, **kwargs)
        assert response.status_code == 404, (method, path, response.text)
        assert error_of(response)["type"] == "NetworkNotFound"
    assert a.get(f"networks/{net['id']}/tags").json() == {"tags": ["mine"]}
    # A shared network's tags are readable by others, not writable.
    shared = api.network(shared=True, tags=["pub"])
    assert b.get(f"networks/{shared['id']}/tags").json() == {"tags": ["pub"]}
    response = b.put(f"networks/{shared['id']}/tags/x")
    assert response.status_code == 403, response.text
    assert error_of(response)["type"] == "PolicyNotAuthorized"
    assert api.get(f"networks/{shared['id']}/tags").json() == {"tags": ["pub"]}


@pytest.mark.parametrize("collection", ["networks", "ports"])
def test_tag_filters(api: Api, collection: str) -> None:
    t = unique()
    red, blue, green = f"red-{t}", f"blue-{t}", f"green-{t}"
    sets = {"rb": [red, blue], "r": [red], "b": [blue], "g": [green], "none": []}
    items = {}
    net = api.network()
    for key, tags in sets.items():
        if collection == "networks":
            items[key] = api.network(tags=tags)["id"]
        else:
            items[key] = api.port(net["id"], tags=tags)["id"]
    ours = set(items.values())
    by_id = {v: k for k, v in items.items()}

    def found(**params: str) -> set[str]:
        if collection == "ports":
            params = dict(params, network_id=net["id"])
        response = api.get(collection, params=params)
        assert response.status_code == 200, response.text
        return {by_id[i["id"]] for i in response.json()[collection] if i["id"] in ours}

    assert found(tags=red) == {"rb", "r"}
    assert found(tags=f"{red},{blue}") == {"rb"}
    assert found(**{"tags-any": f"{red},{blue}"}) == {"rb", "r", "b"}
    assert found(**{"not-tags": f"{red},{blue}"}) == {"r", "b", "g", "none"}
    assert found(**{"not-tags": red}) == {"b", "g", "none"}
    assert found(**{"not-tags-any": f"{red},{blue}"}) == {"g", "none"}
    assert found(tags=red, **{"not-tags": blue}) == {"r"}
    assert found(**{"tags-any": f"{blue},{green}", "not-tags-any": red}) == {"b", "g"}
    # Repeated parameters add up like comma-separated values.
    response = api.get(f"{collection}?tags={red}&tags={blue}"
                       + (f"&network_id={net['id']}" if collection == "ports" else ""))
    assert {by_id[i["id"]] for i in response.json()[collection] if i["id"] in ours} \
        == {"rb"}
    # Tags are filters on the whole list, not only our items.
    everything = api.get(collection, params={"tags": red}).json()[collection]
    assert {i["id"] for i in everything} == {items["rb"], items["r"]}


def test_tag_filter_on_subnets(api: Api) -> None:
    t = unique()
    net = api.network()
    tagged = api.subnet(net["id"], "10.2.0.0/24", tags=[f"s-{t}"])
    api.subnet(net["id"], "10.3.0.0/24")
    listed = api.get("subnets", params={"tags": f"s-{t}"}).json()["subnets"]
    assert [s["id"] for s in listed] == [tagged["id"]]


def test_tag_filter_respects_visibility(api: Api) -> None:
    t = f"vis-{unique()}"
    a = api.as_project(f"p-{unique()}")
    b = api.as_project(f"p-{unique()}")
    mine = a.network(tags=[t])["id"]
    b.network(tags=[t])
    assert [n["id"] for n in a.get("networks", params={"tags": t}).json()["networks"]] \
        == [mine]
    assert len(api.get("networks", params={"tags": t}).json()["networks"]) == 2
