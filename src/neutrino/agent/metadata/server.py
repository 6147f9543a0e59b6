"""The metadata agent's HTTP service on its unix socket.

Each request (from a per-namespace proxy) is identified (lookup.py: the proxy's
headers → the server's `get_metadata_instance`, cached) and then answered by the
upstream: Nova's metadata API (forwarded with X-Instance-ID, X-Tenant-ID,
X-Forwarded-For and X-Instance-ID-Signature) or the built-in one (builtin.py).
Unknown source: 404. One thread per request.
"""

from __future__ import annotations

import http.client
import logging
import os
import socket
import socketserver
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from neutrino.agent.metadata import builtin, lookup
from neutrino.agent.metadata.lookup import Instance, Source

LOG = logging.getLogger(__name__)

MAX_BODY = 1 << 20  # Nova's only writable path (the password) takes 255 bytes


@dataclass(frozen=True)
class Upstream:
    """Where identified requests go: Nova (host, port, TLS) or the built-in trees."""

    builtin: bool = False
    host: str = "127.0.0.1"
    port: int = 8775
    protocol: str = "http"
    insecure: bool = False
    ca_cert: str | None = None
    client_cert: str = ""
    client_key: str = ""
    secret: str = ""
    timeout: float = 30.0

    def connection(self) -> http.client.HTTPConnection:
        if self.protocol != "https":
            return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        context = ssl.create_default_context(cafile=self.ca_cert or None)
        if self.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if self.client_cert:
            context.load_cert_chain(self.client_cert, self.client_key or None)
        return http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout,
                                           context=context)


Resolver = Callable[[Source], Instance | None]


class Handler(BaseHTTPRequestHandler):
    server: MetadataServer
    protocol_version = "HTTP/1.0"  # one request per connection: the proxies close anyway
    server_version = "neutrino-metadata"
    timeout = 60  # seconds a silent connection may hold its thread

    def address_string(self) -> str:  # a unix socket's peer has no address
        return "proxy"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib's name
        LOG.debug("%s", format % args)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._handle()

    def do_HEAD(self) -> None:  # noqa: N802
        self._handle()

    def do_POST(self) -> None:  # noqa: N802
        self._handle()

    def _handle(self) -> None:
        try:
            source = lookup.source_of(self.headers.items())
        except lookup.BadRequest as error:
            LOG.warning("metadata request without a valid source: %s", error)
            self._reply(400, builtin.TEXT, f"400 Bad Request\n\n{error}\n".encode())
            return
        try:
            instance = self.server.resolve(source)
        except Exception:  # noqa: BLE001 - the server unreachable: the guest retries
            LOG.exception("looking up %s %s address %s failed", source.kind,
                          source.resource_id, source.address)
            self._reply(500, builtin.TEXT, b"500 Internal Server Error\n\n"
                        b"An unknown error has occurred. Please try your request again.\n")
            return
        if instance is None:
            LOG.info("metadata request from unknown source %s on %s %s", source.address,
                     source.kind, source.resource_id)
            self._reply(*builtin.NOT_FOUND)
            return
        upstream = self.server.upstream
        if upstream.builtin:
            if self.command == "POST":
                self._reply(405, builtin.TEXT, b"405 Method Not Allowed\n")
                return
            # An instance comes with the server's answer (lookup.instance_from).
            self._reply(*(builtin.respond(instance.details, urlsplit(self.path).path)
                          if instance.details is not None else builtin.NOT_FOUND))
            return
        self._forward(upstream, instance, source)

    def _forward(self, upstream: Upstream, instance: Instance, source: Source) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._reply(413, builtin.TEXT, b"413 Request Entity Too Large\n")
            return
        body = self.rfile.read(length) if length else None
        headers = lookup.upstream_headers(self.headers.items(), instance, source,
                                          upstream.secret)
        try:
            conn = upstream.connection()
            try:
                conn.putrequest(self.command, self.path, skip_accept_encoding=True)
                for key, value in headers:
                    conn.putheader(key, value)
                if body is not None:
                    conn.putheader("Content-Length", str(len(body)))
                conn.endheaders(body)
                response = conn.getresponse()
                data = response.read()
            finally:
                conn.close()
        except (OSError, http.client.HTTPException) as error:
            LOG.error("Nova metadata server %s://%s:%d unreachable: %s", upstream.protocol,
                      upstream.host, upstream.port, error)
            self._reply(500, builtin.TEXT, b"500 Internal Server Error\n\n"
                        b"An unknown error has occurred. Please try your request again.\n")
            return
        if response.status == 403:
            LOG.warning("Nova refused the request of instance %s (403): check that "
                        "metadata_proxy_shared_secret matches Nova's", instance.instance_id)
        self._reply(response.status, response.getheader("Content-Type") or builtin.TEXT,
                    data)

    def _reply(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class MetadataServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str, resolve: Resolver, upstream: Upstream,
                 mode: int = 0o644, backlog: int = 4096) -> None:
        self.resolve = resolve
        self.upstream = upstream
        self.request_queue_size = backlog
        self.path = path
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        _remove_stale_socket(path)
        super().__init__(path, Handler)
        os.chmod(path, mode)
        self._thread: threading.Thread | None = None

    def start(self) -> MetadataServer:
        self._thread = threading.Thread(target=self.serve_forever, name="metadata-server",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(5)
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def _remove_stale_socket(path: str) -> None:
    """A socket file left by a previous agent goes; one another process still
    listens on is an error (two agents on one socket)."""
    if not os.path.exists(path):
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except OSError:
        os.unlink(path)
        return
    finally:
        probe.close()
    raise OSError(f"another process listens on {path}")
