"""The metadata proxy hook of the L3 agent.

With ``enable_metadata_proxy`` the router's NAT table redirects
``169.254.169.254:80`` from its internal interfaces to ``metadata_port`` (9697) in
the router namespace (nat.py); something must listen there. The agent calls a
`MetadataProxies` for every router it realises (`ensure`, after the router's
namespace is converged, at every sync: it must be idempotent and cheap when
nothing changed) and for every router namespace it removes (`remove`, before the
namespace goes). The default does nothing; the metadata agent's side provides the
real one (a proxy per router namespace that forwards to the metadata agent).

The same shape fits the other per-router processes to come (radvd for IPv6 router
advertisements, keepalived for HA routers).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class MetadataProxies(Protocol):
    def ensure(self, router_id: str, namespace: str, router: Mapping[str, Any]) -> None:
        """Make the router's proxy run in `namespace` (on the agent's metadata_port);
        `router` is the router as the "l3" desired state carries it."""

    def remove(self, router_id: str, namespace: str) -> None:
        """Stop the router's proxy; called before its namespace is deleted (also
        for namespaces found at start-up whose router is gone)."""


class NoMetadataProxies:
    """No proxy: metadata requests redirected to the port find nothing listening."""

    def ensure(self, router_id: str, namespace: str, router: Mapping[str, Any]) -> None:
        return None

    def remove(self, router_id: str, namespace: str) -> None:
        return None
