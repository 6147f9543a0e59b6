"""The per-namespace metadata proxy (upstream runs haproxy for this).

Run inside a DHCP or router namespace::

  ip netns exec qdhcp-<net> python -m neutrino.agent.metadata.ns_proxy \\
      --network-id <net> | --router-id <router> \\
      --bind-address 169.254.169.254 --bind-port 80 \\
      --socket <metadata_proxy_socket> --pid-file <file>

It accepts HTTP on the bound address, and passes each request to the metadata
agent's unix socket (a file path: reachable from any network namespace) with
``X-Neutron-Network-ID`` or ``X-Neutron-Router-ID`` and ``X-Forwarded-For`` = the
peer's address as the kernel reports it. Whatever the client wrote in those headers
(or in X-Instance-ID, X-Tenant-ID, X-Instance-ID-Signature) is dropped: a VM cannot
name itself. One request per connection. The pid file is written once listening
(readiness for the manager, proxies.py) and removed on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import os
import signal
import sys

LOG = logging.getLogger("neutrino.metadata.ns_proxy")

NETWORK_HEADER = b"X-Neutron-Network-ID"
ROUTER_HEADER = b"X-Neutron-Router-ID"
DROPPED = frozenset({b"x-neutron-network-id", b"x-neutron-router-id", b"x-forwarded-for",
                     b"x-instance-id", b"x-tenant-id", b"x-instance-id-signature",
                     b"connection", b"keep-alive", b"proxy-connection"})
MAX_HEAD = 64 * 1024
MAX_BODY = 1 << 20
TIMEOUT = 30.0
MAX_CONNECTIONS = 1024  # served at once (haproxy's maxconn upstream); more wait


class Refused(ValueError):
    """A request the proxy does not pass on; `status` is what the client gets."""

    def __init__(self, status: bytes, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def peer_address(peername: object) -> str:
    host = peername[0] if isinstance(peername, tuple) else str(peername)
    address = ipaddress.ip_address(str(host).split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return str(address.ipv4_mapped)
    return str(address)


def rewrite_head(head: bytes, peer: str, identity: tuple[bytes, str]
                 ) -> tuple[bytes, int]:
    """The request head sent to the agent, and the body length to pass on. The
    client's identity and hop-by-hop headers are replaced by ours (pure)."""
    lines = head.rstrip(b"\r\n").split(b"\r\n")
    request_line, header_lines = lines[0], lines[1:]
    if len(request_line.split(b" ")) != 3:
        raise Refused(b"400 Bad Request", "malformed request line")
    kept = []
    length = 0
    for line in header_lines:
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip():
            raise Refused(b"400 Bad Request", "malformed header")
        lower = name.lower()
        if lower == b"transfer-encoding":
            raise Refused(b"411 Length Required", "chunked bodies are not accepted")
        if lower == b"content-length":
            try:
                length = int(value.strip())
            except ValueError:
                raise Refused(b"400 Bad Request", "bad Content-Length") from None
            if length < 0 or length > MAX_BODY:
                raise Refused(b"413 Request Entity Too Large", "body too large")
        if lower in DROPPED:
            continue
        kept.append(line)
    header, resource_id = identity
    kept += [header + b": " + resource_id.encode(), b"X-Forwarded-For: " + peer.encode(),
             b"Connection: close"]
    return b"\r\n".join([request_line, *kept]) + b"\r\n\r\n", length


def _error(status: bytes) -> bytes:
    body = status + b"\n"
    return (b"HTTP/1.0 " + status + b"\r\nContent-Type: text/plain\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)


class Proxy:
    def __init__(self, identity: tuple[bytes, str], socket_path: str) -> None:
        self.identity = identity
        self.socket_path = socket_path
        self._slots = asyncio.Semaphore(MAX_CONNECTIONS)

    async def handle(self, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
        try:
            async with self._slots:
                await asyncio.wait_for(self._serve(reader, writer), TIMEOUT)
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError,
                asyncio.LimitOverrunError):
            pass
        except Exception:  # noqa: BLE001 - one bad request must not stop the proxy
            LOG.exception("proxying a request failed")
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
        peer = peer_address(writer.get_extra_info("peername"))
        head = await reader.readuntil(b"\r\n\r\n")
        try:
            new_head, length = rewrite_head(head, peer, self.identity)
        except Refused as refused:
            writer.write(_error(refused.status))
            await writer.drain()
            return
        body = await reader.readexactly(length) if length else b""
        try:
            up_reader, up_writer = await asyncio.open_unix_connection(self.socket_path)
        except OSError as error:
            LOG.error("metadata agent unreachable at %s: %s", self.socket_path, error)
            writer.write(_error(b"503 Service Unavailable"))
            await writer.drain()
            return
        try:
            up_writer.write(new_head + body)
            await up_writer.drain()
            while chunk := await up_reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        finally:
            up_writer.close()


def write_pid_file(path: str) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w") as handle:
        handle.write(f"{os.getpid()}\n")
    os.replace(tmp, path)


def remove_pid_file(path: str) -> None:
    """Remove the pid file if it is still ours (a successor may have replaced it)."""
    try:
        with open(path) as handle:
            if handle.read().strip() != str(os.getpid()):
                return
        os.unlink(path)
    except (OSError, ValueError):
        pass


async def run(args: argparse.Namespace) -> None:
    identity = ((NETWORK_HEADER, args.network_id) if args.network_id
                else (ROUTER_HEADER, args.router_id))
    proxy = Proxy(identity, args.socket)
    server = await asyncio.start_server(proxy.handle, args.bind_address, args.bind_port,
                                        limit=MAX_HEAD, reuse_address=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    write_pid_file(args.pid_file)
    LOG.info("metadata proxy for %s %s on %s:%d -> %s",
             "network" if args.network_id else "router",
             args.network_id or args.router_id, args.bind_address, args.bind_port,
             args.socket)
    try:
        await stop.wait()
    finally:
        server.close()
        remove_pid_file(args.pid_file)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="neutrino-metadata-ns-proxy")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--network-id")
    which.add_argument("--router-id")
    parser.add_argument("--bind-address", default="169.254.169.254")
    parser.add_argument("--bind-port", type=int, default=80)
    parser.add_argument("--socket", required=True, help="the metadata agent's socket")
    parser.add_argument("--pid-file", required=True)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(process)d %(levelname)s %(message)s")
    try:
        asyncio.run(run(args))
    except OSError as error:
        LOG.error("cannot listen on %s:%d: %s", args.bind_address, args.bind_port, error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
