"""Address scopes (extension `address-scope`): a family of subnet pools whose
prefixes never overlap, so addresses in one scope are routable without NAT.

The extension also shows, on networks, the scope of their subnets' pools
(`ipv4_address_scope`, `ipv6_address_scope`).
"""

from __future__ import annotations

from neutrino import exceptions as exc
from neutrino.resources import validators as v
from neutrino.resources.attributes import REQUIRED, Attr, Resource
from neutrino.resources.feature import Extension, Feature


class AddressScopeNotFound(exc.NotFound):
    message = "Address scope %(address_scope_id)s could not be found."


class AddressScopeInUse(exc.InUse):
    message = ("Unable to complete operation on address scope %(address_scope_id)s. There "
               "are one or more subnet pools in use on the address scope.")


class AddressScopeUpdateError(exc.BadRequest):
    message = "Unable to update address scope %(address_scope_id)s : %(reason)s."


class NetworkAddressScopeAffinityError(exc.BadRequest):
    message = ("Subnets of the same address family hosted on the same network must all "
               "participate in the same address scope.")


ADDRESS_SCOPE = Resource("address_scope", "address_scopes", path="address-scopes",
                         not_found=AddressScopeNotFound, not_found_key="address_scope_id",
                         tag_support=False)
ADDRESS_SCOPE.add(
    Attr("id", convert=v.uuid_value("id"), allow_post=False),
    Attr("name", convert=v.string("name", v.NAME_MAX_LEN), default="", allow_put=True),
    Attr("project_id", convert=v.project_id, default=None),
    Attr("tenant_id", convert=v.project_id, default=None),
    # An RBAC policy for every project (rbac-address-scope): no column to sort on.
    Attr("shared", convert=v.to_boolean, default=False, allow_put=True, enforce_policy=True,
         sortable=False, filter_convert=v.query_bool),
    Attr("ip_version", convert=lambda value: v.one_of("ip_version", [4, 6])(v.to_int(value)),
         default=REQUIRED, filter_convert=v.query_int),
)

IPV4_ADDRESS_SCOPE = "ipv4_address_scope"
IPV6_ADDRESS_SCOPE = "ipv6_address_scope"
FEATURE = Feature(
    "address-scope",
    (Extension("address-scope", "Address scope", "Address scopes extension.",
               "2015-07-26T10:00:00-00:00"),),
    resources=(ADDRESS_SCOPE,),
    adds={"networks": (
        Attr(IPV4_ADDRESS_SCOPE, allow_post=False, filterable=False, sortable=False),
        Attr(IPV6_ADDRESS_SCOPE, allow_post=False, filterable=False, sortable=False),
    )})
