"""floatingip-pools: the subnets floating IPs can come from (read only).

Upstream's attributes: `subnet_id`, `subnet_name`, `network_id`, `cidr` and the
owner (`project_id` / `tenant_id`), which upstream sets to the caller's project.
"""

from __future__ import annotations

from neutrino import exceptions as exc
from neutrino.resources.attributes import Attr, Resource
from neutrino.resources.feature import Extension, Feature

FLOATINGIP_POOL = Resource(
    "floatingip_pool", "floatingip_pools", not_found=exc.SubnetNotFound,
    not_found_key="subnet_id", tag_support=False)
FLOATINGIP_POOL.add(
    Attr("subnet_id", allow_post=False),
    Attr("subnet_name", allow_post=False),
    Attr("network_id", allow_post=False),
    Attr("cidr", allow_post=False),
    Attr("project_id", allow_post=False, sortable=False),
    Attr("tenant_id", allow_post=False, sortable=False),
)

FEATURE = Feature(
    "floatingip-pools",
    (Extension("floatingip-pools", "Floating IP Pools Extension",
               "Provides a floating IP pools API.", "2018-03-21T10:00:00-00:00"),),
    resources=(FLOATINGIP_POOL,))
