"""The metadata agent's service and the per-namespace proxy, on real sockets without
root: the proxy (its own process, on loopback instead of in a namespace) in front of
the agent's unix socket, the agent in front of the built-in trees or a fake Nova.
The lookup is a table here (the server's lookup is tested in
tests/rpc/test_metadata_lookup.py); the question is what crosses each hop."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from neutrino.agent.metadata import lookup, ns_proxy, proxies
from neutrino.agent.metadata.lookup import Instance, Source
from neutrino.agent.metadata.server import MetadataServer, Upstream

NET = "6a1f1c1e-8a1b-4a7e-9d6c-5b0f0f0f0f01"
OTHER_NET = "7b2f2d2f-9b2c-4b8f-8e7d-6c1f1f1f1f02"
INSTANCE = "8d3d5b62-07a0-4d51-bc1e-1d3e4e7ba7a3"
SECRET = "s3cr3t"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Table:
    """The lookup: (kind, id, address) → instance; the sources asked are kept."""

    def __init__(self) -> None:
        # The server's answer as contract.metadata.MetadataInstance has it.
        answer = {"instance_id": INSTANCE, "project_id": "proj-1",
                  "port": {"id": "port-1", "name": "", "network_id": NET,
                           "mac_address": "fa:16:3e:00:00:01",
                           "device_owner": "compute:nova", "fixed_ips": [],
                           "dns_name": "", "dns_domain": "", "hostname": "vm-1"},
                  "network": {"id": NET, "name": "net", "mtu": 1500},
                  "subnets": [], "floating_ips": []}
        self.known = {("network", NET, "127.0.0.1"): Instance(INSTANCE, "proj-1", answer)}
        self.asked: list[Source] = []

    def __call__(self, source: Source) -> Instance | None:
        self.asked.append(source)
        return self.known.get(source.key)


class FakeNova(BaseHTTPRequestHandler):
    requests: list[tuple[str, str, dict, bytes]] = []

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        FakeNova.requests.append((self.command, self.path, dict(self.headers), body))
        data = b'{"nova": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer  # noqa: N815 - http.server's naming


@pytest.fixture
def nova() -> Iterator[int]:
    FakeNova.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeNova)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def table() -> Table:
    return Table()


def agent(tmp_path: Path, table: Table, upstream: Upstream, name: str = "md.sock"
          ) -> MetadataServer:
    return MetadataServer(str(tmp_path / name), table, upstream).start()


class ProxyProcess:
    def __init__(self, tmp_path: Path, socket_path: str, *identity: str) -> None:
        self.port = free_port()
        self.pid_file = str(tmp_path / f"proxy-{self.port}.pid")
        self.log = tmp_path / f"proxy-{self.port}.log"
        cmd = [sys.executable, "-m", ns_proxy.__name__, *identity,
               "--bind-address", "127.0.0.1", "--bind-port", str(self.port),
               "--socket", socket_path, "--pid-file", self.pid_file]
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while not os.path.exists(self.pid_file):
            assert self.proc.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "the proxy did not start"
            time.sleep(0.02)

    def get(self, path: str, headers: dict | None = None, data: bytes | None = None
            ) -> tuple[int, bytes]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}",
                                         headers=headers or {}, data=data)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
def started() -> Iterator[list]:
    things: list = []
    yield things
    for thing in reversed(things):
        thing.stop()


SPOOF = {"X-Forwarded-For": "10.9.9.9", "X-Neutron-Network-ID": OTHER_NET,
         "X-Instance-ID": "someone-else", "X-Tenant-ID": "other",
         "X-Instance-ID-Signature": "forged"}


def test_builtin_through_the_proxy_ignores_what_the_client_claims(
        tmp_path: Path, table: Table, started: list) -> None:
    server = agent(tmp_path, table, Upstream(builtin=True))
    started.append(server)
    proxy = ProxyProcess(tmp_path, server.path, "--network-id", NET)
    started.append(proxy)
    status, body = proxy.get("/openstack/latest/meta_data.json", SPOOF)
    assert status == 200, body
    assert json.loads(body)["uuid"] == INSTANCE
    # The agent saw the proxy's view, not the client's claims.
    assert table.asked == [Source("network", NET, "127.0.0.1")]
    assert proxy.get("/latest/meta-data/hostname")[1] == b"vm-1"
    assert proxy.get("/latest/meta-data/nope")[0] == 404
    # SIGTERM: the proxy exits and removes its pid file.
    proxy.stop()
    assert proxy.proc.returncode == 0
    assert not os.path.exists(proxy.pid_file)


def test_unknown_source_gets_404(tmp_path: Path, table: Table, started: list) -> None:
    server = agent(tmp_path, table, Upstream(builtin=True))
    started.append(server)
    proxy = ProxyProcess(tmp_path, server.path, "--network-id", OTHER_NET)
    started.append(proxy)
    status, body = proxy.get("/openstack/latest/meta_data.json",
                             {"X-Neutron-Network-ID": NET})
    assert status == 404 and INSTANCE.encode() not in body
    router_proxy = ProxyProcess(tmp_path, server.path, "--router-id", NET)
    started.append(router_proxy)
    assert router_proxy.get("/openstack/latest/meta_data.json")[0] == 404
    assert [s.kind for s in table.asked] == ["network", "router"]


def test_forwarded_to_nova_with_identity_and_signature(
        tmp_path: Path, table: Table, nova: int, started: list) -> None:
    server = agent(tmp_path, table, Upstream(host="127.0.0.1", port=nova, secret=SECRET))
    started.append(server)
    proxy = ProxyProcess(tmp_path, server.path, "--network-id", NET)
    started.append(proxy)
    status, body = proxy.get("/openstack/latest/meta_data.json?x=1", SPOOF)
    assert (status, body) == (200, b'{"nova": true}')
    [(method, path, headers, _)] = FakeNova.requests
    assert (method, path) == ("GET", "/openstack/latest/meta_data.json?x=1")
    assert headers["X-Instance-ID"] == INSTANCE
    assert headers["X-Tenant-ID"] == "proj-1"
    assert headers["X-Forwarded-For"] == "127.0.0.1"
    assert headers["X-Instance-ID-Signature"] == lookup.sign(INSTANCE, SECRET)
    assert "X-Neutron-Network-ID" not in headers
    # A POST (Nova's password) carries its body.
    status, _ = proxy.get("/openstack/latest/password", data=b"secret-password")
    assert status == 200
    assert FakeNova.requests[-1][0] == "POST" and FakeNova.requests[-1][3] == \
        b"secret-password"


def test_nova_down_is_500_and_no_agent_is_503(tmp_path: Path, table: Table,
                                              started: list) -> None:
    server = agent(tmp_path, table, Upstream(host="127.0.0.1", port=free_port()))
    started.append(server)
    proxy = ProxyProcess(tmp_path, server.path, "--network-id", NET)
    started.append(proxy)
    assert proxy.get("/openstack")[0] == 500
    lonely = ProxyProcess(tmp_path, str(tmp_path / "nobody.sock"), "--network-id", NET)
    started.append(lonely)
    assert lonely.get("/openstack")[0] == 503


def test_agent_refuses_requests_without_the_proxy_headers(tmp_path: Path, table: Table,
                                                          started: list) -> None:
    server = agent(tmp_path, table, Upstream(builtin=True))
    started.append(server)
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(server.path)
        sock.sendall(b"GET /openstack HTTP/1.0\r\n\r\n")
        answer = sock.makefile("rb").read()
    assert answer.startswith(b"HTTP/1.0 400")
    assert table.asked == []


def test_a_stale_socket_file_is_replaced_a_live_one_refused(tmp_path: Path, table: Table,
                                                            started: list) -> None:
    path = tmp_path / "md.sock"
    with socket.socket(socket.AF_UNIX) as dead:
        dead.bind(str(path))  # bound, never listening: what a crashed agent leaves
    server = agent(tmp_path, table, Upstream(builtin=True))
    started.append(server)
    with pytest.raises(OSError, match="another process listens"):
        agent(tmp_path, table, Upstream(builtin=True))


# -- pure parts of the proxy and its manager -----------------------------------------


def test_rewrite_head_replaces_identity_and_hop_by_hop_headers() -> None:
    head = (b"GET /latest/meta-data/ HTTP/1.1\r\nHost: 169.254.169.254\r\n"
            b"X-Forwarded-For: 10.0.0.99\r\nx-instance-id: forged\r\n"
            b"X-Neutron-Router-ID: r\r\nConnection: keep-alive\r\nAccept: */*\r\n\r\n")
    new, length = ns_proxy.rewrite_head(head, "10.0.0.5", (ns_proxy.NETWORK_HEADER, NET))
    assert length == 0
    assert new == (b"GET /latest/meta-data/ HTTP/1.1\r\nHost: 169.254.169.254\r\n"
                   b"Accept: */*\r\nX-Neutron-Network-ID: " + NET.encode() +
                   b"\r\nX-Forwarded-For: 10.0.0.5\r\nConnection: close\r\n\r\n")


@pytest.mark.parametrize(("head", "status"), [
    (b"GARBAGE\r\n\r\n", b"400 Bad Request"),
    (b"GET / HTTP/1.1\r\nno colon\r\n\r\n", b"400 Bad Request"),
    (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", b"411 Length Required"),
    (b"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n",
     b"413 Request Entity Too Large"),
    (b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n", b"400 Bad Request"),
])
def test_rewrite_head_refuses(head: bytes, status: bytes) -> None:
    with pytest.raises(ns_proxy.Refused) as refused:
        ns_proxy.rewrite_head(head, "10.0.0.5", (ns_proxy.ROUTER_HEADER, NET))
    assert refused.value.status == status


def test_rewrite_head_passes_the_body_length() -> None:
    _, length = ns_proxy.rewrite_head(b"POST /p HTTP/1.1\r\nContent-Length: 12\r\n\r\n",
                                      "10.0.0.5", (ns_proxy.ROUTER_HEADER, NET))
    assert length == 12


def test_peer_address() -> None:
    assert ns_proxy.peer_address(("::ffff:10.0.0.5", 1234, 0, 0)) == "10.0.0.5"
    assert ns_proxy.peer_address(("fe80::1%eth0", 1234, 0, 2)) == "fe80::1"
    assert ns_proxy.peer_address(("10.0.0.5", 1234)) == "10.0.0.5"


def test_manager_command_and_ownership() -> None:
    spec = proxies.ProxySpec("qrouter-r", "router", "r-id", "0.0.0.0", 9697)
    cmd = proxies.command("/venv/bin/python", spec, "/s/md.sock", "/p/qrouter-r.pid")
    assert cmd == ["/venv/bin/python", "-m", "neutrino.agent.metadata.ns_proxy",
                   "--router-id", "r-id", "--bind-address", "0.0.0.0", "--bind-port",
                   "9697", "--socket", "/s/md.sock", "--pid-file", "/p/qrouter-r.pid"]
    assert proxies.is_proxy_of(cmd, "/p/qrouter-r.pid")
    assert not proxies.is_proxy_of(cmd, "/p/other.pid")
    assert not proxies.is_proxy_of(["dnsmasq", "--pid-file", "/p/qrouter-r.pid"],
                                   "/p/qrouter-r.pid")
    assert not proxies.is_proxy_of(None, "/p/qrouter-r.pid")
    with pytest.raises(ValueError):
        proxies.ProxySpec("ns", "port", "x")
