"""Helpers of the fault tests (races, quota stall, database outage, kill -9):
servers of their own on private databases, a TCP proxy the test controls in front
of the database, and waiting on conditions with a deadline."""

from __future__ import annotations

import os
import select
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from backends import database
from server import Api, ServerProcess


def wait_for(condition: Callable[[], Any], timeout: float, what: str,
             interval: float = 0.05) -> Any:
    """Poll `condition` until it returns something true; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def project_api(server: ServerProcess, backend: str = "") -> Api:
    """An admin acting in a project of its own (its own quotas and resources)."""
    return Api(server.url, backend=backend).as_project(f"p-{uuid.uuid4().hex}", ["admin"])


@contextmanager
def own_server(backend: str, tmp: Path, workers: int = 1, extra_conf: str = "",
               url_of: Callable[[str], str] | None = None) -> Iterator[ServerProcess]:
    """A neutrino-server on a new private database of `backend`; `url_of` may route
    the server's database URL elsewhere (through a proxy)."""
    with database(backend, tmp) as url:
        served = url_of(url) if url_of is not None else url
        with ServerProcess(tmp, served, workers=workers, extra_conf=extra_conf) as proc:
            proc.direct_db_url = url  # type: ignore[attr-defined]
            yield proc


def host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    default = 5432 if parts.scheme.startswith("postgresql") else 3306
    return parts.hostname or "127.0.0.1", parts.port or default


def with_host_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    auth = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit(parts._replace(netloc=f"{auth}127.0.0.1:{port}"))


class TcpProxy:
    """Forwards 127.0.0.1:<port> to the database. `blackhole()`: accept and hold
    every connection, forward nothing (a partition); `refuse()`: reset every
    connection and refuse new ones (the database stopped); `forward()`: normal."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.mode = "forward"
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._stopped = False
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._listen()

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by refuse() or stop()
            with self._lock:
                self._conns.append(client)
                mode = self.mode
            if mode == "forward":
                try:
                    upstream = socket.create_connection(self.target, timeout=5)
                except OSError:
                    _reset(client)
                    continue
                with self._lock:
                    self._conns.append(upstream)
                threading.Thread(target=self._pump, args=(client, upstream),
                                 daemon=True).start()
            # blackhole: held open, never read

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        try:
            while not self._stopped:
                ready, _, _ = select.select([a, b], [], [], 0.1)
                if self.mode != "forward":
                    continue  # a black hole moves nothing (refuse() closes us)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        raise OSError("closed")
                    peers[sock].sendall(data)
        except (OSError, ValueError):
            _reset(a)
            _reset(b)

    def blackhole(self) -> None:
        self.mode = "blackhole"

    def refuse(self) -> None:
        with self._lock:
            self.mode = "refuse"
            if self._listener is not None:
                # shutdown() first: a close() alone leaves the socket listening
                # while the accept thread still sits in accept().
                try:
                    self._listener.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                self._listener.close()
                self._listener = None
            conns, self._conns = self._conns, []
        for sock in conns:
            _reset(sock)

    def forward(self) -> None:
        with self._lock:
            held, self._conns = self._conns, []
            self.mode = "forward"
            if self._listener is None:
                self._listen()
        # What was held in the black hole is broken for good (as after a real
        # partition, the peers have given up on it).
        for sock in held:
            _reset(sock)

    def stop(self) -> None:
        self._stopped = True
        self.refuse()


def _reset(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0): the peer sees the connection fail at once."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


def log_lines(server: ServerProcess, needle: str) -> list[str]:
    return [line for line in server.log.read_text(errors="replace").splitlines()
            if needle in line]


def kill9(server: ServerProcess) -> None:
    """SIGKILL the server's process group (the server we started, by its pid)."""
    assert server.proc is not None
    os.killpg(server.proc.pid, 9)
    server.proc.wait()
