"""The catalog: every feature this server implements, in composition order.

The order is the order in which features' attributes follow a resource's base
attributes, so it is the key order of API responses: keep it stable (append new
features at the end of their group). `/v2.0/extensions` does not depend on it (the
registry lists aliases alphabetically).

An alias goes here only when the behaviour behind it is complete. Features that
are API behaviours without attributes of their own (sorting, pagination, the
standard-attr-* family, ...) are declared at the end of this module, so the list
of extensions has this one source.
"""

from __future__ import annotations

from neutrino.resources import (
    address_group,
    address_scope,
    agent,
    allowed_address_pairs,
    auto_allocated_topology,
    default_security_group_rule,
    dns,
    external_net,
    extra_dhcp_opts,
    flavors,
    floatingip,
    floatingip_pool,
    fwaas,
    ip_availability,
    log,
    metering,
    network,
    network_az,
    network_ha,
    network_segment_range,
    port,
    port_attributes,
    port_binding,
    port_forwarding,
    port_security,
    provider,
    qos,
    qos_l3,
    rbac_policy,
    router,
    security_group,
    segment,
    service_type,
    subnet,
    subnet_service_types,
    subnetpool,
    trunk,
    vpnaas,
)
from neutrino.resources.feature import Extension, Feature, extension

# -- API behaviours without attributes (aliases only) --------------------------

BEHAVIOURS: tuple[Feature, ...] = (
    extension("availability_zone", "Availability Zone",
              "The availability zone extension.", "2015-01-01T10:00:00-00:00"),
    extension("dhcp_agent_scheduler", "DHCP Agent Scheduler",
              "Schedule networks among dhcp agents", "2013-02-07T10:00:00-00:00"),
    extension("empty-string-filtering", "Empty String Filtering Extension",
              "Allow filtering by attributes with empty string value",
              "2018-05-01T10:00:00-00:00"),
    extension("filter-validation", "Filter parameters validation",
              "Provides validation on filter parameters.", "2018-07-04T10:00:00-00:00"),
    extension("ip-substring-filtering", "IP address substring filtering",
              "Provides IP address substring filtering when listing ports",
              "2017-11-28T09:00:00-00:00"),
    extension("l3_agent_scheduler", "L3 Agent Scheduler", "Schedule routers among l3 "
              "agents", "2013-02-07T10:00:00-00:00"),
    extension("net-mtu", "Network MTU", "Provides MTU attribute for a network resource.",
              "2015-03-25T10:00:00-00:00"),
    extension("net-mtu-writable", "Network MTU (writable)", "Provides a writable MTU "
              "attribute for a network resource.", "2017-07-12T00:00:00-00:00"),
    extension("pagination", "Pagination support", "Extension that indicates that "
              "pagination is enabled.", "2016-06-12T00:00:00-00:00"),
    extension("port-mac-address-regenerate", "Neutron Port MAC address regenerate",
              "Network port MAC address regenerate", "2018-05-03T10:00:00-00:00"),
    extension("project-id", "project_id field enabled", "Extension that indicates that "
              "project_id field is enabled.", "2016-09-09T09:09:09-09:09"),
    # Upstream lists quota_details right after quotas.
    Feature("quotas", (
        Extension("quotas", "Quota management support", "Expose functions for quotas "
                  "management per project", "2012-07-29T10:00:00-00:00"),
        Extension("quota_details", "Quota details management support", "Expose "
                  "functions for quotas usage statistics per project",
                  "2017-02-10T10:00:00-00:00"),
    )),
    extension("quota-check-limit", "Quota engine limit check", "Support for checking "
              "the resource usage before applying a new quota limit",
              "2021-09-08T16:00:00-00:00"),
    extension("quota-check-limit-default", "Quota engine limit check by default",
              "By default, the Neutron quota engine checks the resource usage before "
              "applying a new quota limit", "2024-08-21T16:00:00-00:00"),
    extension("rbac-address-group", "Add address_group type to RBAC",
              "Add address_group type to network RBAC", "2021-01-20T00:00:00-00:00"),
    extension("rbac-address-scope", "Add address_scope type to RBAC",
              "Add address_scope type to RBAC", "2020-02-12T00:00:00-00:00"),
    extension("rbac-security-groups", "Add security_group type to network RBAC",
              "Add security_group type to network RBAC", "2019-02-14T00:00:00-00:00"),
    extension("rbac-subnetpool", "Add subnetpool type to RBAC",
              "Add subnetpool type to RBAC", "2020-02-05T00:00:00-00:00"),
    extension("revision-if-match", "If-Match constraints based on revision_number",
              "Extension indicating that If-Match based on revision_number is "
              "supported.", "2016-12-11T00:00:00-00:00"),
    extension("sort-key-validation", "Sort keys validation",
              "Provides validation on sort keys.", "2018-07-04T10:00:00-00:00"),
    extension("sorting", "Sorting support", "Extension that indicates that sorting is "
              "enabled.", "2016-06-12T00:00:00-00:00"),
    extension("standard-attr-description", "standard-attr-description", "Extension to "
              "add descriptions to standard attributes", "2016-02-10T10:00:00-00:00"),
    extension("standard-attr-revisions", "Resource revision numbers", "This extension "
              "will display the revision number of neutron resources.",
              "2016-04-11T10:00:00-00:00"),
    extension("standard-attr-segment", "Standard Attribute Segment Extension",
              "Add standard attributes to Segment resource", "2018-04-09T10:00:00-00:00"),
    extension("standard-attr-tag", "Tag support for resources with standard attribute: "
              "port, subnet, subnetpool, network, security_group, router, floatingip, "
              "policy, trunk, network_segment_range", "Enables to set tag on "
              "resources with standard attribute.", "2017-01-01T00:00:00-00:00"),
    extension("standard-attr-timestamp", "Resource timestamps", "Adds created_at and "
              "updated_at fields to all Neutron resources that have Neutron standard "
              "attributes.", "2016-09-12T10:00:00-00:00"),
    # Upstream's "updated" really is this (not a valid date).
    extension("tag-creation", "Tag creation extension", "Allow to create multiple tags "
              "for a resource", "2024-23-07T10:00:00-00:00"),
    extension("tag-ports-during-bulk-creation", "Tag Ports During Bulk Creation",
              "Allow to tag ports during bulk creation", "2019-12-29T19:00:00-00:00"),
)

CATALOG: tuple[Feature, ...] = (
    # The core resources, with their base attributes.
    network.FEATURE,
    subnet.FEATURE,
    port.FEATURE,
    # Features adding attributes to other features' resources: their order is the
    # order of those attributes after the base ones.
    external_net.FEATURE,
    external_net.SUBNET_EXTERNAL_NETWORK,
    subnet_service_types.FEATURE,
    agent.AGENT_RESOURCES_SYNCED,
    provider.PROVIDER,
    provider.MULTI_PROVIDER,
    port_attributes.UPLINK_STATUS_PROPAGATION,
    port_attributes.PORT_DEVICE_PROFILE,
    port_attributes.PORT_TRUSTED_VIF,
    port_attributes.PORT_NUMA_AFFINITY_POLICY,
    port_binding.FEATURE,
    port_binding.BINDING_EXTENDED,
    dns.FEATURE,
    address_scope.FEATURE,
    allowed_address_pairs.FEATURE,
    port_security.FEATURE,
    network_az.FEATURE,
    network_ha.FEATURE,
    extra_dhcp_opts.FEATURE,
    security_group.FEATURE,
    subnetpool.DEFAULT_SUBNETPOOLS,
    segment.FEATURE,
    qos.FEATURE,  # QoS (issue 14)
    trunk.TRUNK_DETAILS,  # trunks (issue 14)
    # Features with resources of their own only.
    address_group.FEATURE,
    agent.FEATURE,
    floatingip_pool.FEATURE,
    ip_availability.FEATURE,
    network_segment_range.FEATURE,
    rbac_policy.FEATURE,
    router.FEATURE,
    subnetpool.SUBNET_ALLOCATION,
    default_security_group_rule.DEFAULT_RULES,
    default_security_group_rule.DEFAULT_STATEFULNESS,
    service_type.FEATURE,
    flavors.FLAVORS,
    trunk.FEATURE,  # trunks (issue 14)
    metering.METERING,  # Metering (issue 14)
    metering.SOURCE_AND_DESTINATION,
    port_forwarding.FEATURE,  # floating IP port forwarding (issue 14)
    port_forwarding.EXPOSE_IN_FIP,
    qos_l3.QOS_FIP,  # qos_policy_id on floating IPs (issue 14)
    qos_l3.QOS_GATEWAY_IP,  # ... and in routers' external_gateway_info
    log.LOGGING,  # security group logging (issue 14)
    fwaas.FWAAS_V2,  # FWaaS v2 (issue 16): listed only with its service plugin
    vpnaas.VPNAAS,  # VPNaaS (issue 16): likewise
    # Aliases for behaviours of attributes declared above.
    auto_allocated_topology.FEATURE,
    floatingip.FIP_PORT_DETAILS,
    floatingip.FLOATING_IP_ROUTER_WRITABLE,
    router.EXT_GW_MODE,
    router.EXTRAROUTE,
    router.EXTRAROUTE_ATOMIC,
    router.ROUTER_AVAILABILITY_ZONE,
    router.L3_PORT_IP_CHANGE_NOT_ALLOWED,
    router.DVR,
    router.ROUTER_ADMIN_STATE_DOWN_BEFORE_UPDATE,
    router.L3_HA,
    flavors.L3_FLAVORS,
    security_group.NORMALIZED_CIDR,
    security_group.REMOTE_ADDRESS_GROUP,
    security_group.RULES_BELONGS_TO_DEFAULT_SG,
    security_group.SHARED_FILTERING,
    security_group.STATEFUL,
    security_group.PORT_FILTERING,
    subnetpool.SUBNETPOOL_PREFIX_OPS,
    subnetpool.SUBNET_ONBOARD,
    port_attributes.PORT_NUMA_AFFINITY_POLICY_SOCKET,
    port_attributes.PORT_MAC_OVERRIDE,
    allowed_address_pairs.AAP_REJECT_MULTICAST,
    agent.AGENT_SORT_KEY,
    agent.AVAILABILITY_ZONE_FILTER,
    *qos.BEHAVIOURS,  # QoS (issue 14)
    *BEHAVIOURS,
)
