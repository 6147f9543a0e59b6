"""auth_strategy = keystone (keystonemiddleware auth_token), transcripts keystone/001-003.

There is no Keystone here: [keystone_authtoken] points at an unused local port. What
must hold without one: version discovery is public, a request without a token is a
401 in upstream's shape, and a token that cannot be validated is refused (never let
through, never a 500).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from backends import database
from server import ServerProcess, free_port

UNAUTHORIZED = {"error": {"code": 401, "title": "Unauthorized",
                          "message": "The request you have made requires authentication."}}
UNAUTHORIZED_BYTES = (b'{"error": {"code": 401, "title": "Unauthorized", "message": '
                      b'"The request you have made requires authentication."}}')


@pytest.fixture(scope="module")
def keystone_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    state = tmp_path_factory.mktemp("keystone-server")
    dead = f"http://127.0.0.1:{free_port()}"
    extra = ("auth_strategy = keystone\n"
             "[keystone_authtoken]\n"
             f"www_authenticate_uri = {dead}\n"
             f"auth_url = {dead}\n"
             "auth_type = password\n"
             "username = neutron\n"
             "password = secret\n"
             "project_name = service\n"
             "user_domain_name = Default\n"
             "project_domain_name = Default\n"
             "http_connect_timeout = 1\n"
             "http_request_max_retries = 0\n"
             "[DEFAULT]\n")
    with database("sqlite", state) as url, ServerProcess(state, url,
                                                         extra_conf=extra) as proc:
        proc.keystone_url = dead  # type: ignore[attr-defined]
        yield proc


def request_id_of(response: httpx.Response) -> str:
    rid = response.headers.get("X-Openstack-Request-Id", "")
    assert rid.startswith("req-"), response.headers
    uuid.UUID(rid[4:])
    return rid


def test_versions_without_token(keystone_server: ServerProcess) -> None:
    response = httpx.get(keystone_server.url + "/", headers={"Accept": "application/json"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["versions"][0]["id"] == "v2.0"
    assert body["versions"][0]["links"][0]["href"] == keystone_server.url + "/v2.0/"


@pytest.mark.parametrize("path", [
    "/v2.0/networks", "/v2.0", "/v2.0/extensions", "/v2.0/quotas",
    "/v2.0/ports/6f5b0d8e-2a4b-4c1e-9d7a-0b1c2d3e4f50", "/v2.0/nowhere"])
def test_no_token_is_401(keystone_server: ServerProcess, path: str) -> None:
    response = httpx.get(keystone_server.url + path, headers={"Accept": "application/json"})
    assert response.status_code == 401, response.text
    assert response.content == UNAUTHORIZED_BYTES
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["WWW-Authenticate"] == \
        f'Keystone uri="{keystone_server.keystone_url}"'  # type: ignore[attr-defined]
    request_id_of(response)


def test_no_token_write_is_401(keystone_server: ServerProcess) -> None:
    response = httpx.post(keystone_server.url + "/v2.0/networks",
                          json={"network": {"name": "x"}})
    assert response.status_code == 401, response.text
    assert response.json() == UNAUTHORIZED


def test_noauth_headers_are_not_trusted(keystone_server: ServerProcess) -> None:
    """X-Project-Id / X-Roles / X-Identity-Status from the client count for nothing."""
    headers = {"X-Project-Id": "p-evil", "X-Roles": "admin", "X-User-Id": "u",
               "X-Identity-Status": "Confirmed", "X-Service-Identity-Status": "Confirmed"}
    response = httpx.get(keystone_server.url + "/v2.0/networks", headers=headers)
    assert response.status_code == 401, response.text
    assert response.json() == UNAUTHORIZED


def test_token_with_keystone_unreachable_is_503(keystone_server: ServerProcess) -> None:
    """Keystone is unreachable, so the token cannot be validated: 503 (upstream's
    status for this case), in Neutron's error shape; never let through."""
    response = httpx.get(keystone_server.url + "/v2.0/networks",
                         headers={"X-Auth-Token": "not-a-valid-token",
                                  "Accept": "application/json"}, timeout=30)
    assert response.status_code == 503, response.text
    assert response.json() == {"NeutronError": {
        "type": "ServiceUnavailable",
        "message": "The Keystone service is temporarily unavailable.", "detail": ""}}
    request_id_of(response)


def test_request_ids_differ(keystone_server: ServerProcess) -> None:
    ids = {request_id_of(httpx.get(keystone_server.url + "/v2.0/networks"))
           for _ in range(3)}
    assert len(ids) == 3


# -- with a (fake) Keystone that answers ------------------------------------------

class FakeKeystone:
    """Just enough of Keystone v3 for auth_token: discovery, the service user's
    password login, and token validation (known tokens 200, others 404)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.tokens: dict[str, dict] = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def send_json(self, status: int, body: dict,
                          headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                path = self.path.rstrip("/")
                if path == "":
                    self.send_json(300, {"versions": {"values": [fake.version()]}})
                elif path == "/v3":
                    self.send_json(200, {"version": fake.version()})
                elif path == "/v3/auth/tokens":
                    subject = self.headers.get("X-Subject-Token", "")
                    if subject in fake.tokens:
                        self.send_json(200, {"token": fake.tokens[subject]},
                                       {"X-Subject-Token": subject})
                    else:
                        self.send_json(404, {"error": {"code": 404, "title": "Not Found",
                                                       "message": "token not found"}})
                else:
                    self.send_json(404, {"error": {"code": 404}})

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path.rstrip("/") == "/v3/auth/tokens":
                    self.send_json(201, {"token": fake.token("service", ["admin",
                                                                         "service"])},
                                   {"X-Subject-Token": "service-token"})
                else:
                    self.send_json(404, {"error": {"code": 404}})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def version(self) -> dict:
        return {"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
                "links": [{"rel": "self", "href": self.url + "/v3/"}],
                "media-types": [{"base": "application/json",
                                 "type": "application/vnd.openstack.identity-v3+json"}]}

    def token(self, project: str, roles: list[str]) -> dict:
        domain = {"id": "default", "name": "Default"}
        return {
            "methods": ["password"], "audit_ids": ["a"],
            "expires_at": "2099-01-01T00:00:00.000000Z",
            "issued_at": "2020-01-01T00:00:00.000000Z",
            "user": {"id": f"user-{project}", "name": f"user-{project}", "domain": domain,
                     "password_expires_at": None},
            "project": {"id": project, "name": project, "domain": domain},
            "roles": [{"id": f"r-{r}", "name": r} for r in roles],
            "catalog": [{"type": "identity", "name": "keystone", "id": "ks",
                         "endpoints": [{"id": f"e-{i}", "interface": i,
                                        "region": "RegionOne", "region_id": "RegionOne",
                                        "url": self.url + "/v3"}
                                       for i in ("public", "internal", "admin")]}],
        }

    def __enter__(self) -> FakeKeystone:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def keystone() -> Iterator[FakeKeystone]:
    with FakeKeystone() as fake:
        yield fake


@pytest.fixture(scope="module")
def authed_server(keystone: FakeKeystone, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[ServerProcess]:
    state = tmp_path_factory.mktemp("keystone-authed")
    extra = ("auth_strategy = keystone\n"
             "[keystone_authtoken]\n"
             f"www_authenticate_uri = {keystone.url}\n"
             f"auth_url = {keystone.url}\n"
             "auth_type = password\n"
             "username = neutron\n"
             "password = secret\n"
             "project_name = service\n"
             "user_domain_name = Default\n"
             "project_domain_name = Default\n"
             "service_token_roles_required = true\n"
             "[DEFAULT]\n")
    with database("sqlite", state) as url, ServerProcess(state, url,
                                                         extra_conf=extra) as proc:
        yield proc


def client(server: ServerProcess, token: str) -> httpx.Client:
    return httpx.Client(base_url=server.url + "/v2.0", timeout=30,
                        headers={"X-Auth-Token": token, "Accept": "application/json"})


def test_valid_tokens_act_as_their_project(keystone: FakeKeystone,
                                           authed_server: ServerProcess) -> None:
    a, b = f"p-{uuid.uuid4().hex[:8]}", f"p-{uuid.uuid4().hex[:8]}"
    keystone.tokens.update({
        "tok-admin": keystone.token("admin-project", ["admin", "member"]),
        f"tok-{a}": keystone.token(a, ["member", "reader"]),
        f"tok-{b}": keystone.token(b, ["member", "reader"])})
    admin, member_a = client(authed_server, "tok-admin"), client(authed_server, f"tok-{a}")
    member_b = client(authed_server, f"tok-{b}")

    response = member_a.post("/networks", json={"network": {"name": "mine"}})
    assert response.status_code == 201, response.text
    net = response.json()["network"]
    assert net["project_id"] == a
    request_id_of(response)
    # Headers a client sends cannot change who it is.
    spoofed = member_b.get(f"/networks/{net['id']}",
                           headers={"X-Project-Id": a, "X-Roles": "admin"})
    assert spoofed.status_code == 404, spoofed.text
    assert admin.get(f"/networks/{net['id']}").status_code == 200
    response = member_a.post("/networks", json={"network": {"shared": True}})
    assert response.status_code == 403, response.text
    assert response.json()["NeutronError"]["message"] == \
        "(rule:create_network and rule:create_network:shared) is disallowed by policy"
    response = member_a.post("/networks", json={"network": {"project_id": b}})
    assert response.status_code == 400, response.text
    assert member_a.get(f"/quotas/{a}").status_code == 200
    response = member_a.put(f"/quotas/{a}", json={"quota": {"network": 1000}})
    assert response.status_code == 403, response.text
    assert member_a.delete(f"/networks/{net['id']}").status_code == 204


def test_token_keystone_rejects_is_401(keystone: FakeKeystone,
                                       authed_server: ServerProcess) -> None:
    response = client(authed_server, "bogus").get("/networks")
    assert response.status_code == 401, response.text
    assert response.content == UNAUTHORIZED_BYTES
    assert response.headers["WWW-Authenticate"] == f'Keystone uri="{keystone.url}"'
    request_id_of(response)


def test_topology_page_with_a_token(keystone: FakeKeystone,
                                    authed_server: ServerProcess) -> None:
    """Issue 15's topology page: the page itself is public (it holds no data), its data
    takes a token like the rest of the API; in a browser, a token given in the URL's
    fragment draws the token's project and leaves the address bar."""
    from chromium import Chromium, require_chromium

    a, b = f"p-{uuid.uuid4().hex[:8]}", f"p-{uuid.uuid4().hex[:8]}"
    keystone.tokens.update({f"tok-{a}": keystone.token(a, ["member", "reader"]),
                            f"tok-{b}": keystone.token(b, ["member", "reader"])})
    page = httpx.get(authed_server.url + "/topology")
    assert page.status_code == 200 and "<svg" in page.text
    data = authed_server.url + "/v2.0/neutrino/topology"
    assert httpx.get(data).status_code == 401
    assert client(authed_server, "bogus").get("/neutrino/topology").status_code == 401
    member_a = client(authed_server, f"tok-{a}")
    # A name is drawn as text, never as markup.
    name = "drawn <img src=x>"
    net = member_a.post("/networks", json={"network": {"name": name}}).json()["network"]
    client(authed_server, f"tok-{b}").post("/networks", json={"network": {"name": "not-a"}})
    nodes = member_a.get("/neutrino/topology").json()["topology"]["nodes"]
    assert [(n["kind"], n["id"]) for n in nodes] == [("network", net["id"])]
    assert member_a.get(f"/neutrino/topology?project_id={b}").status_code == 403

    require_chromium()
    with Chromium() as browser:
        browser.navigate(f"{authed_server.url}/topology#token=tok-{a}&interval=0.5")
        names = browser.wait_for("""[...document.querySelectorAll('#topology g.node')]
                                    .map(g => g.dataset.name).join(',')""")
        assert names == name
        assert browser.evaluate("document.querySelectorAll('img, #topology foreignObject')"
                                ".length") == 0
        assert "tok-" not in browser.evaluate("location.href")
        browser.evaluate("sessionStorage.clear()")  # the token gone: asked for one
        browser.wait_for("!document.getElementById('login').hidden")
        assert "401" in browser.evaluate("document.getElementById('error').textContent")
