"""The subnet resource."""

from __future__ import annotations

from neutrino import exceptions as exc
from neutrino.resources import validators as v
from neutrino.resources.attributes import REQUIRED, Attr, Resource
from neutrino.resources.feature import Feature
from neutrino.resources.standard import standard_attrs

# Marks "not given", distinct from an explicit null (gateway_ip: null = no gateway).
UNSET = object()

IPV6_MODES = ["dhcpv6-stateful", "dhcpv6-stateless", "slaac", None]



def none_to_empty_list(value: object) -> object:
    """null means "none" for list attributes (validated later, with the subnet)."""
    return [] if value is None else value


SUBNET = Resource("subnet", "subnets", not_found=exc.SubnetNotFound,
                  not_found_key="subnet_id")
SUBNET.add(
    *standard_attrs(),
    Attr("network_id", convert=v.uuid_value("network_id"), default=REQUIRED),
    Attr("ip_version", convert=lambda value: v.one_of("ip_version", [4, 6])(v.to_int(value)),
         default=REQUIRED,
         filter_convert=v.query_int),
    Attr("cidr", default=UNSET),
    Attr("prefixlen", convert=v.to_int, default=UNSET, visible=False, filterable=False,
         sortable=False),
    Attr("subnetpool_id", convert=v.uuid_or_none("subnetpool_id"), default=None),
    Attr("gateway_ip", convert=v.ip_address_or_none("gateway_ip"), default=UNSET,
         allow_put=True),
    Attr("allocation_pools", convert=v.list_of_dicts("allocation_pools"), default=UNSET,
         allow_put=True, filterable=False, sortable=False),
    Attr("dns_nameservers", convert=none_to_empty_list, default=list, allow_put=True,
         sortable=False),
    Attr("host_routes", convert=none_to_empty_list, default=list, allow_put=True,
         filterable=False, sortable=False),
    Attr("enable_dhcp", convert=v.to_boolean, default=True, allow_put=True,
         filter_convert=v.query_bool),
    Attr("ipv6_ra_mode", convert=v.one_of("ipv6_ra_mode", IPV6_MODES), default=None),
    Attr("ipv6_address_mode", convert=v.one_of("ipv6_address_mode", IPV6_MODES),
         default=None),
    # Whether the subnet's network is shared with the caller's project or with
    # everyone: never shown, set by the network; a list filter (?shared=false is how
    # tempest keeps other projects' shared subnets out) and a policy input.
    Attr("shared", convert=v.to_boolean, default=False, allow_post=False, visible=False,
         sortable=False, enforce_policy=True, filter_convert=v.query_bool),
)

# A core resource: no extension alias.
FEATURE = Feature("subnet", resources=(SUBNET,))
