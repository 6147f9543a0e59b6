"""The network resource."""

from __future__ import annotations

from neutrino import exceptions as exc
from neutrino.resources import validators as v
from neutrino.resources.attributes import Attr, Resource
from neutrino.resources.feature import Feature
from neutrino.resources.standard import standard_attrs

NETWORK = Resource("network", "networks", not_found=exc.NetworkNotFound,
                   not_found_key="net_id")
NETWORK.add(
    *standard_attrs(),
    Attr("admin_state_up", convert=v.to_boolean, default=True, allow_put=True,
         filter_convert=v.query_bool),
    Attr("status", allow_post=False),
    Attr("subnets", allow_post=False, filterable=False, sortable=False),
    # An access_as_shared RBAC policy for every project (no column: not a sort key).
    Attr("shared", convert=v.to_boolean, default=False, allow_put=True,
         enforce_policy=True, sortable=False, filter_convert=v.query_bool),
    # net-mtu-writable: settable on create and update, at most what the network's
    # transport allows and at least what its subnets need (checked by the service).
    Attr("mtu", convert=v.non_negative("mtu"), default=None, allow_put=True,
         filter_convert=v.query_int),
)

# A core resource: no extension alias.
FEATURE = Feature("network", resources=(NETWORK,))
