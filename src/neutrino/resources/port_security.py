"""port-security: `port_security_enabled` on networks and ports.

A network's value (default true) is the default of the ports created on it. A port
without port security has no security groups and no allowed address pairs; the
network's own ports (``network:*`` device owners) never have port security.
"""

from __future__ import annotations

from neutrino.resources import validators as v
from neutrino.resources.attributes import Attr
from neutrino.resources.feature import Extension, Feature
from neutrino.resources.port import UNSET

PORT_SECURITY = "port_security_enabled"

FEATURE = Feature(
    "port-security",
    (Extension("port-security", "Port Security", "Provides port security",
               "2012-07-23T10:00:00-00:00"),),
    adds={
        "networks": (Attr(PORT_SECURITY, convert=v.to_boolean, default=True,
                          allow_put=True, enforce_policy=True, sortable=False,
                          filter_convert=v.query_bool),),
        "ports": (Attr(PORT_SECURITY, convert=v.to_boolean, default=UNSET, allow_put=True,
                       enforce_policy=True, sortable=False, filter_convert=v.query_bool),),
    })
