"""A TCP forwarder from a network namespace to this one (tests only).

An agent process inside a test's host namespace cannot reach the broker on the root
namespace's loopback (127.0.0.1:5672). `Forwarder(namespace, port)` listens on
127.0.0.1:`port` inside `namespace` and relays every connection to 127.0.0.1:`port`
here: the listening socket is opened by a thread that briefly entered the namespace
(setns is per thread, a socket stays in the namespace it was made in); the
connections to the target are made back in this namespace.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import socket
import threading

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))


def listen_in(namespace: str, port: int) -> socket.socket:
    """A listening TCP socket on 127.0.0.1:`port` inside `namespace`."""
    result: list = []

    def make() -> None:
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{namespace}", os.O_RDONLY)
        try:
            _setns(target)
            try:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(("127.0.0.1", port))
                sock.listen(64)
                result.append(sock)
            finally:
                _setns(own)
        except OSError as error:
            result.append(error)
        finally:
            os.close(own)
            os.close(target)

    # A thread of its own: it leaves (even on failure) without touching ours.
    thread = threading.Thread(target=make)
    thread.start()
    thread.join()
    if isinstance(result[0], OSError):
        raise result[0]
    return result[0]


class Forwarder:
    def __init__(self, namespace: str, port: int, target_port: int | None = None
                 ) -> None:
        self.namespace = namespace
        self.port = port
        self.target = ("127.0.0.1", target_port or port)
        self._listener: socket.socket | None = None
        self._stop = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> Forwarder:
        self._listener = listen_in(self.namespace, self.port)
        self._listener.settimeout(0.2)
        threading.Thread(target=self._accept, name="forwarder", daemon=True).start()
        return self

    def _track(self, *socks: socket.socket) -> None:
        with self._lock:
            self._sockets.update(socks)

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            self._track(client, upstream)
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

    def stop(self) -> None:
        self._stop.set()
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            socks, self._sockets = list(self._sockets), set()
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.close()
