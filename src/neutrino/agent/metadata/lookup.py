"""Pure decisions of the metadata agent: who is asking, what the upstream is told.

A request reaches the agent through a per-namespace proxy (ns_proxy.py), which says
where it came from: ``X-Neutron-Network-ID`` (a DHCP namespace) or
``X-Neutron-Router-ID`` (a router namespace), and ``X-Forwarded-For``, the VM's
source address as the proxy saw it (never what the client wrote). The server maps
(network, or the router's networks) + address to exactly one port; its
``device_id`` is the instance and its project the tenant. Anything else (no port,
several, a port without device_id, a network:* port) is "unknown": 404, never
another instance's data.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import threading
import time
import uuid
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

from neutrino.contract.metadata import MetadataInstance

NETWORK_HEADER = "X-Neutron-Network-ID"
ROUTER_HEADER = "X-Neutron-Router-ID"
FORWARDED_FOR = "X-Forwarded-For"
INSTANCE_HEADER = "X-Instance-ID"
TENANT_HEADER = "X-Tenant-ID"
SIGNATURE_HEADER = "X-Instance-ID-Signature"

# What a client may not say about itself (the proxy and the agent say it), and the
# hop-by-hop headers of one connection, which are not forwarded.
IDENTITY_HEADERS = frozenset(h.lower() for h in (
    NETWORK_HEADER, ROUTER_HEADER, FORWARDED_FOR, INSTANCE_HEADER, TENANT_HEADER,
    SIGNATURE_HEADER))
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate",
                        "proxy-authorization", "proxy-connection", "te", "trailers",
                        "transfer-encoding", "upgrade", "host", "content-length"})


SourceKind = Literal["network", "router"]


class BadRequest(ValueError):
    """The request does not say where it came from (not sent by our proxy)."""


@dataclass(frozen=True)
class Source:
    """Where a request came from: a network or a router, and the VM's address."""

    kind: SourceKind
    resource_id: str
    address: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.resource_id, self.address)


@dataclass(frozen=True)
class Instance:
    """The instance behind a source: the port's device_id and project, and the
    server's whole answer (what the built-in upstream serves; None: not known)."""

    instance_id: str
    project_id: str
    details: MetadataInstance | None = field(default=None, compare=False, hash=False)


def _lower(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {key.lower(): value for key, value in items}


def normalize_address(value: str) -> str:
    """An address as the server stores it (IPv4-mapped IPv6 as IPv4); ValueError
    when it is none."""
    address = ipaddress.ip_address(value.strip().split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return str(address.ipv4_mapped)
    return str(address)


def source_of(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> Source:
    """The request's source from the proxy's headers; BadRequest without them."""
    found = _lower(headers)
    forwarded = found.get(FORWARDED_FOR.lower(), "")
    # Our proxy writes exactly one address; were there a chain, the last hop (the
    # nearest proxy) is the one that saw the client.
    candidates = [part for part in forwarded.split(",") if part.strip()]
    if not candidates:
        raise BadRequest(f"no {FORWARDED_FOR}")
    try:
        address = normalize_address(candidates[-1])
    except ValueError:
        raise BadRequest(f"{FORWARDED_FOR} is not an address") from None
    network = found.get(NETWORK_HEADER.lower(), "").strip()
    router = found.get(ROUTER_HEADER.lower(), "").strip()
    if bool(network) == bool(router):
        raise BadRequest(f"exactly one of {NETWORK_HEADER} and {ROUTER_HEADER} is needed")
    kind: SourceKind = "network" if network else "router"
    resource_id = network or router
    try:
        resource_id = str(uuid.UUID(resource_id))
    except ValueError:
        raise BadRequest(f"{kind} id {resource_id!r} is not a UUID") from None
    return Source(kind, resource_id, address)


def instance_from(answer: MetadataInstance | None) -> Instance | None:
    """The server's answer (get_metadata_instance) as an instance; None: unknown."""
    if not answer or not answer.get("instance_id"):
        return None
    return Instance(instance_id=answer["instance_id"],
                    project_id=answer.get("project_id") or "", details=answer)


def sign(instance_id: str, secret: str) -> str:
    """X-Instance-ID-Signature: HMAC-SHA256 of the instance id, hex (what Nova checks)."""
    return hmac.new(secret.encode(), instance_id.encode(), hashlib.sha256).hexdigest()


def upstream_headers(incoming: Mapping[str, str] | Iterable[tuple[str, str]],
                     instance: Instance, source: Source, secret: str
                     ) -> list[tuple[str, str]]:
    """The headers sent to Nova: the client's own (minus hop-by-hop and identity
    headers: a client cannot name itself), then who it is."""
    items = incoming.items() if isinstance(incoming, Mapping) else incoming
    out = [(key, value) for key, value in items
           if key.lower() not in IDENTITY_HEADERS and key.lower() not in HOP_BY_HOP]
    out += [(FORWARDED_FOR, source.address),
            (INSTANCE_HEADER, instance.instance_id),
            (TENANT_HEADER, instance.project_id),
            (SIGNATURE_HEADER, sign(instance.instance_id, secret))]
    return out


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    """Lookups kept `ttl` seconds (unknown sources too: a client trying addresses
    costs the server one query per address and period). Thread-safe, bounded."""

    def __init__(self, ttl: float, max_entries: int = 4096,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self._entries: dict[K, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: K, compute: Callable[[], V]) -> V:
        """The cached value of `key`, else compute() (stored unless it raises)."""
        if self.ttl <= 0:
            return compute()
        now = self.clock()
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and hit[0] > now:
                return hit[1]
        value = compute()
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._evict(now)
            self._entries[key] = (now + self.ttl, value)
        return value

    def _evict(self, now: float) -> None:
        expired = [k for k, (until, _) in self._entries.items() if until <= now]
        for key in expired:
            del self._entries[key]
        while len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]  # the oldest insertion

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
