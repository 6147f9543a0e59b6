"""The metadata proxy hook of the L3 agent.

With ``enable_metadata_proxy`` the router's NAT table redirects
``169.254.169.254:80`` from its internal interfaces to ``metadata_port`` (9697) in
the router namespace (nat.py); something must listen there. The agent calls a
`MetadataProxies` for every router it realises (`ensure`, after the router's
namespace is converged, at every sync: it must be idempotent and cheap when
nothing changed), for every router namespace it removes (`remove`, before the
namespace goes) and once per sync with the namespaces whose proxies stay
(`remove_stale`: a router that went while the agent was down, or
``enable_metadata_proxy`` turned off).

`RouterMetadataProxies` is the real one: a proxy per router namespace
(agent/metadata/proxies.py, ns_proxy.py) on ``0.0.0.0:<metadata_port>``, speaking
for the router (the metadata agent finds the instance by source address among the
router's interface networks) and forwarding to the metadata agent's socket.

The same shape fits the other per-router processes to come (radvd for IPv6 router
advertisements, keepalived for HA routers).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from neutrino.agent.metadata import proxies as metadata_proxies

LOG = logging.getLogger(__name__)

# The redirect's target is the address of the interface the request came in on
# (any qr-): the proxy listens on all of them.
BIND_ADDRESS = "0.0.0.0"


class MetadataProxies(Protocol):
    def ensure(self, router_id: str, namespace: str, router: Mapping[str, Any]) -> None:
        """Make the router's proxy run in `namespace` (on the agent's metadata_port);
        `router` is the router as the "l3" desired state carries it."""

    def remove(self, router_id: str, namespace: str) -> None:
        """Stop the router's proxy; called before its namespace is deleted (also
        for namespaces found at start-up whose router is gone)."""

    def remove_stale(self, keep: Iterable[str]) -> list[str]:
        """Stop the proxies of every namespace not in `keep`; those stopped."""


class NoMetadataProxies:
    """No proxy: metadata requests redirected to the port find nothing listening."""

    def ensure(self, router_id: str, namespace: str, router: Mapping[str, Any]) -> None:
        return None

    def remove(self, router_id: str, namespace: str) -> None:
        return None

    def remove_stale(self, keep: Iterable[str]) -> list[str]:
        return []


class RouterMetadataProxies:
    """The routers' proxies, from the metadata agent's side (one pid directory of
    this agent's own)."""

    def __init__(self, proxies: metadata_proxies.MetadataProxies, port: int) -> None:
        self.proxies = proxies
        self.port = port

    def ensure(self, router_id: str, namespace: str, router: Mapping[str, Any]) -> None:
        done = self.proxies.ensure(namespace, "router", router_id, BIND_ADDRESS, self.port)
        if done:
            LOG.info("router %s: metadata proxy %s", router_id, done)

    def remove(self, router_id: str, namespace: str) -> None:
        if self.proxies.remove(namespace):
            LOG.info("router %s: metadata proxy stopped", router_id)

    def remove_stale(self, keep: Iterable[str]) -> list[str]:
        stale = self.proxies.remove_stale(keep)
        for namespace in stale:
            LOG.info("metadata proxy of %s stopped (router not on this host)", namespace)
        return stale
