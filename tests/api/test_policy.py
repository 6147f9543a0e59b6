"""Multi-project visibility and policy (noauth with X-Project-Id / X-Roles headers).

Messages and status codes follow the keystone transcripts of upstream Neutron 29
(keystone/009, 010, 018, 019, 020).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends import database
from server import Api, ServerProcess, error_of


def project() -> str:
    return f"p-{uuid.uuid4().hex[:8]}"


def policy_error(response, message: str) -> None:
    assert response.status_code == 403, response.text
    assert error_of(response) == {"type": "PolicyNotAuthorized", "message": message,
                                  "detail": ""}


def not_found(response, kind: str, resource_id: str) -> None:
    assert response.status_code == 404, response.text
    err = error_of(response)
    assert err["type"] == f"{kind}NotFound", err
    assert resource_id in err["message"]


def ids(response, collection: str) -> set[str]:
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()[collection]}


@pytest.fixture
def two(api: Api) -> tuple[Api, Api]:
    return api.as_project(project()), api.as_project(project())


@pytest.fixture
def private(two: tuple[Api, Api]) -> dict:
    """Project A's network, subnet and port."""
    a, _ = two
    net = a.network(name="a-private")
    subnet = a.subnet(net["id"], "10.20.0.0/24")
    port = a.port(net["id"], name="a-port")
    return {"network": net, "subnet": subnet, "port": port}


# -- visibility of another project's resources ----------------------------------

@pytest.mark.parametrize("kind", ["network", "subnet", "port"])
def test_other_projects_resources_are_not_found(two, private, kind: str) -> None:
    _, b = two
    item = private[kind]
    path = f"{kind}s/{item['id']}"
    not_found(b.get(path), kind.capitalize(), item["id"])
    not_found(b.put(path, {kind: {"name": "hijack"}}), kind.capitalize(), item["id"])
    not_found(b.delete(path), kind.capitalize(), item["id"])
    assert item["id"] not in ids(b.get(f"{kind}s"), f"{kind}s")
    # Filtering on the id does not reveal it either.
    assert ids(b.get(f"{kind}s", params={"id": item["id"]}), f"{kind}s") == set()


def test_owner_and_admin_see_everything(api: Api, two, private) -> None:
    a, _ = two
    for kind in ("network", "subnet", "port"):
        item = private[kind]
        assert a.get(f"{kind}s/{item['id']}").status_code == 200
        assert item["id"] in ids(a.get(f"{kind}s"), f"{kind}s")
        assert api.get(f"{kind}s/{item['id']}").status_code == 200
        assert item["id"] in ids(api.get(f"{kind}s", params={"id": item["id"]}),
                                 f"{kind}s")


def test_admin_role_header_makes_an_admin(api: Api, two, private) -> None:
    boss = api.as_project(project(), roles=["admin"])
    net = private["network"]
    assert boss.get(f"networks/{net['id']}").status_code == 200
    assert net["id"] in ids(boss.get("networks", params={"id": net["id"]}), "networks")
    # Role names are matched case-insensitively by oslo.policy.
    assert api.as_project(project(), roles=["Admin"]).get(
        f"networks/{net['id']}").status_code == 200


def test_member_list_shows_own_and_shared_only(api: Api, two, private) -> None:
    a, b = two
    shared = api.network(name="shared-vis", shared=True)
    own_b = b.network(name="b-own")
    seen = ids(b.get("networks"), "networks")
    assert {shared["id"], own_b["id"]} <= seen
    assert private["network"]["id"] not in seen
    for item in b.get("networks").json()["networks"]:
        # External networks are every project's too (a "*" access_as_external policy).
        assert (item["shared"] or item.get("router:external")
                or item["project_id"] == b.client.headers["X-Project-Id"])


# -- shared networks -------------------------------------------------------------

@pytest.fixture
def shared_net(api: Api) -> dict:
    net = api.network(name="shared", shared=True)
    api.subnet(net["id"], "10.30.0.0/24")
    return net


def test_shared_network_visible_but_not_writable(two, shared_net) -> None:
    _, b = two
    assert b.get(f"networks/{shared_net['id']}").json()["network"]["shared"] is True
    assert shared_net["id"] in ids(b.get("networks"), "networks")
    policy_error(b.put(f"networks/{shared_net['id']}", {"network": {"name": "hijack"}}),
                 "rule:update_network is disallowed by policy")
    policy_error(b.delete(f"networks/{shared_net['id']}"),
                 "rule:delete_network is disallowed by policy")


def test_port_on_shared_network(two, shared_net) -> None:
    _, b = two
    port = b.port(shared_net["id"], name="b-on-shared")
    assert port["project_id"] == b.client.headers["X-Project-Id"]
    assert b.get(f"ports/{port['id']}").status_code == 200
    assert b.delete(f"ports/{port['id']}").status_code == 204


def test_subnets_of_shared_network_visible(two, shared_net) -> None:
    _, b = two
    listed = b.get("subnets", params={"network_id": shared_net["id"]}).json()["subnets"]
    assert len(listed) == 1
    assert b.get(f"subnets/{listed[0]['id']}").status_code == 200
    policy_error(b.put(f"subnets/{listed[0]['id']}", {"subnet": {"name": "x"}}),
                 "rule:update_subnet is disallowed by policy")
    policy_error(b.delete(f"subnets/{listed[0]['id']}"),
                 "rule:delete_subnet is disallowed by policy")


def test_subnet_on_other_projects_private_network(two, private) -> None:
    _, b = two
    hidden = b.post("subnets", {"subnet": {"network_id": private["network"]["id"],
                                           "cidr": "10.21.0.0/24", "ip_version": 4}})
    not_found(hidden, "Network", private["network"]["id"])


def test_subnet_on_other_projects_shared_network(two, shared_net) -> None:
    _, b = two
    on_shared = b.post("subnets", {"subnet": {"network_id": shared_net["id"],
                                              "cidr": "10.31.0.0/24", "ip_version": 4}})
    policy_error(on_shared, "rule:create_subnet is disallowed by policy")


def test_port_on_other_projects_private_network(two, private) -> None:
    _, b = two
    response = b.post("ports", {"port": {"network_id": private["network"]["id"]}})
    not_found(response, "Network", private["network"]["id"])


def test_member_cannot_set_mac_or_network_device_owner_on_shared(two, shared_net) -> None:
    _, b = two
    response = b.post("ports", {"port": {"network_id": shared_net["id"],
                                         "mac_address": "fa:16:3e:00:00:01"}})
    policy_error(response,
                 "(rule:create_port and rule:create_port:mac_address) is disallowed by policy")
    response = b.post("ports", {"port": {"network_id": shared_net["id"],
                                         "device_owner": "network:router_interface"}})
    policy_error(response,
                 "(rule:create_port and rule:create_port:device_owner) is disallowed by "
                 "policy")
    # An ordinary device_owner is fine.
    port = b.port(shared_net["id"], device_owner="compute:nova")
    assert port["device_owner"] == "compute:nova"


def test_network_owner_may_set_mac_and_device_owner(two) -> None:
    a, _ = two
    net = a.network()
    a.subnet(net["id"], "10.40.0.0/24")
    mac = "fa:16:3e:" + ":".join(f"{b:02x}" for b in uuid.uuid4().bytes[:3])
    port = a.port(net["id"], mac_address=mac, device_owner="network:dhcp")
    assert port["mac_address"] == mac


def test_member_cannot_update_mac_of_own_port(two) -> None:
    a, _ = two
    net = a.network()
    port = a.port(net["id"])
    policy_error(a.put(f"ports/{port['id']}",
                       {"port": {"mac_address": "fa:16:3e:00:00:02"}}),
                 "(rule:update_port and rule:update_port:mac_address) is disallowed by "
                 "policy")


def test_network_owner_sees_and_deletes_other_projects_ports(api: Api, two) -> None:
    a, b = two
    c = api.as_project(project())
    net = api.network(shared=True, project_id=a.client.headers["X-Project-Id"])
    port = b.port(net["id"], name="b-port-on-a-net")
    assert a.get(f"ports/{port['id']}").status_code == 200
    assert port["id"] in ids(a.get("ports", params={"network_id": net["id"]}), "ports")
    # A third project sees the network (shared) but not B's port.
    not_found(c.get(f"ports/{port['id']}"), "Port", port["id"])
    assert port["id"] not in ids(c.get("ports", params={"network_id": net["id"]}), "ports")
    # The network owner may not rename it (update_port is admin_or_owner) ...
    policy_error(a.put(f"ports/{port['id']}", {"port": {"name": "x"}}),
                 "rule:update_port is disallowed by policy")
    # ... but may delete it (delete_port: admin_owner_or_network_owner).
    assert a.delete(f"ports/{port['id']}").status_code == 204


# -- creating: shared flag, other projects -----------------------------------------

def test_member_cannot_create_shared_network(two) -> None:
    a, _ = two
    policy_error(a.post("networks", {"network": {"name": "x", "shared": True}}),
                 "(rule:create_network and rule:create_network:shared) is disallowed by "
                 "policy")
    # shared=false explicitly is the default: allowed.
    assert a.post("networks", {"network": {"shared": False}}).status_code == 201


def test_member_cannot_share_own_network(two) -> None:
    a, _ = two
    net = a.network()
    policy_error(a.put(f"networks/{net['id']}", {"network": {"shared": True}}),
                 "(rule:update_network and rule:update_network:shared) is disallowed by "
                 "policy")
    assert a.put(f"networks/{net['id']}", {"network": {"name": "renamed"}}
                 ).status_code == 200


@pytest.mark.parametrize("key", ["project_id", "tenant_id"])
def test_member_cannot_create_for_other_project(two, key: str) -> None:
    a, b = two
    response = a.post("networks", {"network": {"name": "x",
                                               key: b.client.headers["X-Project-Id"]}})
    assert response.status_code == 400, response.text
    assert error_of(response) == {
        "type": "HTTPBadRequest",
        "message": "Specifying 'project_id' other than the authenticated project in "
                   "request is not allowed for the current user.",
        "detail": ""}
    # Its own project in the body is fine.
    own = a.post("networks", {"network": {key: a.client.headers["X-Project-Id"]}})
    assert own.status_code == 201, own.text


def test_admin_may_create_for_other_project(api: Api, two) -> None:
    a, _ = two
    pid = a.client.headers["X-Project-Id"]
    net = api.network(name="for-a", project_id=pid)
    assert net["project_id"] == pid and net["tenant_id"] == pid
    assert a.get(f"networks/{net['id']}").status_code == 200
    assert a.delete(f"networks/{net['id']}").status_code == 204


def test_member_owner_can_delete_own(two) -> None:
    a, b = two
    net = a.network()
    not_found(b.delete(f"networks/{net['id']}"), "Network", net["id"])
    assert a.delete(f"networks/{net['id']}").status_code == 204


# -- request ids ----------------------------------------------------------------

def test_request_ids_on_every_response(api: Api, two) -> None:
    a, _ = two
    responses = [api.get("/"), api.get("networks"), api.get("/v2.0/nonexistent"),
                 api.get("/nowhere"), api.get(f"networks/{uuid.uuid4()}"),
                 api.post("networks", {"network": {"bogus": 1}}),
                 a.post("networks", {"network": {"shared": True}}),
                 api.request("PATCH", "networks"),
                 api.post("networks", content=b"{not json")]
    seen = set()
    for response in responses:
        rid = response.headers.get("X-Openstack-Request-Id")
        assert rid is not None, (response.request.url, response.status_code)
        assert rid.startswith("req-")
        uuid.UUID(rid[4:])
        seen.add(rid)
    assert len(seen) == len(responses)


# -- policy file override without a restart ----------------------------------------

@pytest.fixture(scope="module")
def policy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    state = tmp_path_factory.mktemp("policy-server")
    (state / "policy.yaml").write_text("{}\n")
    with database("sqlite", state) as url, ServerProcess(
            state, url, extra_conf=f"policy_file = {state / 'policy.yaml'}\n") as proc:
        yield proc


def write_policy(path: Path, text: str) -> None:
    before = path.stat().st_mtime if path.exists() else 0
    path.write_text(text)
    # oslo.policy reloads when the mtime changes; make sure it does.
    bump = max(time.time(), before) + 2
    os.utime(path, (bump, bump))


def wait_for(status: int, call, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while True:
        response = call()
        if response.status_code == status or time.monotonic() > deadline:
            return response
        time.sleep(0.1)


def test_policy_file_override_applies_without_restart(policy_server: ServerProcess) -> None:
    path = policy_server.state_dir / "policy.yaml"
    member = Api(policy_server.url).as_project(project())
    netadmin = Api(policy_server.url).as_project(project(), roles=["member", "netadmin"])

    def create(client: Api):
        return client.post("networks", {"network": {"name": "pf"}})

    try:
        assert create(member).status_code == 201
        write_policy(path, '"create_network": "role:netadmin"\n')
        policy_error(wait_for(403, lambda: create(member)),
                     "rule:create_network is disallowed by policy")
        assert create(netadmin).status_code == 201
        # A rule referenced by other rules: hiding shared networks from members.
        write_policy(path, '"create_network": "role:netadmin or role:admin"\n'
                           '"shared": "!"\n')
        admin = Api(policy_server.url)
        created = wait_for(201, lambda: admin.post("networks",
                                                   {"network": {"shared": True}}))
        assert created.status_code == 201, created.text
        shared = created.json()["network"]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and member.get(
                f"networks/{shared['id']}").status_code != 404:
            time.sleep(0.1)
        not_found(member.get(f"networks/{shared['id']}"), "Network", shared["id"])
    finally:
        write_policy(path, "{}\n")
    assert wait_for(201, lambda: create(member)).status_code == 201
