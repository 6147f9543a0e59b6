"""The API extensions this server implements, as `/v2.0/extensions` lists them.

An alias goes here only when the behaviour behind it is complete.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Extension:
    alias: str
    name: str
    description: str
    updated: str

    def to_dict(self) -> dict:
        return {"name": self.name, "alias": self.alias, "description": self.description,
                "updated": self.updated, "links": []}


EXTENSIONS = [
    Extension("address-group", "Address group", "Support address group",
              "2020-07-15T10:00:00-00:00"),
    Extension("address-scope", "Address scope", "Address scopes extension.",
              "2015-07-26T10:00:00-00:00"),
    Extension("agent", "agent", "The agent management extension.",
              "2013-02-03T10:00:00-00:00"),
    Extension("allowed-address-pairs", "Allowed Address Pairs",
              "Provides allowed address pairs", "2013-07-23T10:00:00-00:00"),
    Extension("auto-allocated-topology", "Auto Allocated Topology Services",
              "Auto Allocated Topology Services.", "2016-01-01T00:00:00-00:00"),
    Extension("availability_zone", "Availability Zone",
              "The availability zone extension.", "2015-01-01T10:00:00-00:00"),
    Extension("binding", "Port Binding", "Expose port bindings of a virtual port to "
              "external application", "2014-02-03T10:00:00-00:00"),
    Extension("default-subnetpools", "Default Subnetpools", "Provides ability to mark and "
              "use a subnetpool as the default.", "2016-02-18T18:00:00-00:00"),
    Extension("dhcp_agent_scheduler", "DHCP Agent Scheduler",
              "Schedule networks among dhcp agents", "2013-02-07T10:00:00-00:00"),
    Extension("dns-domain-ports", "dns_domain for ports",
              "Allows the DNS domain to be specified for a network port.",
              "2017-04-24T10:00:00-00:00"),
    Extension("dns-integration", "DNS Integration", "Provides integration with DNS.",
              "2015-08-15T18:00:00-00:00"),
    Extension("empty-string-filtering", "Empty String Filtering Extension",
              "Allow filtering by attributes with empty string value",
              "2018-05-01T10:00:00-00:00"),
    Extension("ext-gw-mode", "Neutron L3 Configurable external gateway mode",
              "Extension of the router abstraction for specifying whether SNAT should "
              "occur on the external gateway", "2013-03-28T10:00:00-00:00"),
    Extension("external-net", "Neutron external network", "Adds external network "
              "attribute to network resource.", "2013-01-14T10:00:00-00:00"),
    Extension("extra_dhcp_opt", "Neutron Extra DHCP options", "Extra options "
              "configuration for DHCP. For example PXE boot options to DHCP clients can be "
              "specified (e.g. tftp-server, server-ip-address, bootfile-name)",
              "2013-03-17T12:00:00-00:00"),
    Extension("extraroute", "Neutron Extra Route", "Extra routes configuration for L3 "
              "router", "2013-02-01T10:00:00-00:00"),
    Extension("extraroute-atomic", "Atomically add/remove extra routes", "Edit extra "
              "routes of a router on server side by atomically adding/removing extra "
              "routes", "2019-07-10T00:00:00+00:00"),
    Extension("filter-validation", "Filter parameters validation",
              "Provides validation on filter parameters.", "2018-07-04T10:00:00-00:00"),
    Extension("fip-port-details", "Floating IP Port Details Extension", "Add "
              "port_details attribute to Floating IP resource", "2018-04-09T10:00:00-00:00"),
    Extension("floatingip-pools", "Floating IP Pools Extension",
              "Provides a floating IP pools API.", "2018-03-21T10:00:00-00:00"),
    Extension("ip-substring-filtering", "IP address substring filtering",
              "Provides IP address substring filtering when listing ports",
              "2017-11-28T09:00:00-00:00"),
    Extension("l3_agent_scheduler", "L3 Agent Scheduler", "Schedule routers among l3 "
              "agents", "2013-02-07T10:00:00-00:00"),
    Extension("multi-provider", "Multi Provider Network", "Expose mapping of virtual "
              "networks to multiple physical networks", "2013-06-27T10:00:00-00:00"),
    Extension("net-mtu", "Network MTU", "Provides MTU attribute for a network resource.",
              "2015-03-25T10:00:00-00:00"),
    Extension("net-mtu-writable", "Network MTU (writable)", "Provides a writable MTU "
              "attribute for a network resource.", "2017-07-12T00:00:00-00:00"),
    Extension("network-ip-availability", "Network IP Availability",
              "Provides IP availability data for each network and subnet.",
              "2015-09-24T00:00:00-00:00"),
    Extension("network-ip-availability-details",
              "Network IP Availability Details Extension", "Add ip_availability_details "
              "attribute to network-ip-availabilities resource.",
              "2025-10-31T00:00:00-00:00"),
    Extension("network-segment-range", "Neutron Network Segment Range",
              "Provides support for the network segment range management",
              "2018-11-29T00:00:00-00:00"),
    Extension("network_availability_zone", "Network Availability Zone",
              "Availability zone support for network.", "2015-01-01T10:00:00-00:00"),
    Extension("pagination", "Pagination support", "Extension that indicates that "
              "pagination is enabled.", "2016-06-12T00:00:00-00:00"),
    Extension("port-device-profile", "Port device profile", "Expose the port device "
              "profile (Cyborg)", "2020-12-17T10:00:00-00:00"),
    Extension("port-mac-address-regenerate", "Neutron Port MAC address regenerate",
              "Network port MAC address regenerate", "2018-05-03T10:00:00-00:00"),
    Extension("port-security", "Port Security", "Provides port security",
              "2012-07-23T10:00:00-00:00"),
    Extension("port-security-groups-filtering", "Port filtering on security groups",
              "Provides security groups filtering when listing ports",
              "2018-01-09T09:00:00-00:00"),
    Extension("port-trusted-vif", "Port trusted vif", "Expose port 'trusted' attribute "
              "in the API", "2024-07-10T10:00:00-00:00"),
    Extension("project-id", "project_id field enabled", "Extension that indicates that "
              "project_id field is enabled.", "2016-09-09T09:09:09-09:09"),
    Extension("provider", "Provider Network", "Expose mapping of virtual networks to "
              "physical networks", "2012-09-07T10:00:00-00:00"),
    Extension("quotas", "Quota management support", "Expose functions for quotas "
              "management per project", "2012-07-29T10:00:00-00:00"),
    Extension("quota_details", "Quota details management support", "Expose functions "
              "for quotas usage statistics per project", "2017-02-10T10:00:00-00:00"),
    Extension("rbac-address-group", "Add address_group type to RBAC",
              "Add address_group type to network RBAC", "2021-01-20T00:00:00-00:00"),
    Extension("rbac-address-scope", "Add address_scope type to RBAC",
              "Add address_scope type to RBAC", "2020-02-12T00:00:00-00:00"),
    Extension("rbac-policies", "RBAC Policies", "Allows creation and modification of "
              "policies that control project access to resources.",
              "2015-06-17T12:15:12-00:00"),
    Extension("rbac-security-groups", "Add security_group type to network RBAC",
              "Add security_group type to network RBAC", "2019-02-14T00:00:00-00:00"),
    Extension("rbac-subnetpool", "Add subnetpool type to RBAC",
              "Add subnetpool type to RBAC", "2020-02-05T00:00:00-00:00"),
    Extension("revision-if-match", "If-Match constraints based on revision_number",
              "Extension indicating that If-Match based on revision_number is "
              "supported.", "2016-12-11T00:00:00-00:00"),
    Extension("router", "Neutron L3 Router", "Router abstraction for basic L3 "
              "forwarding between L2 Neutron networks and access to external networks via "
              "a NAT gateway.", "2012-07-20T10:00:00-00:00"),
    Extension("router_availability_zone", "Router Availability Zone", "Availability "
              "zone support for router.", "2015-01-01T10:00:00-00:00"),
    Extension("security-group", "security-group", "The security groups extension.",
              "2012-10-05T10:00:00-00:00"),
    Extension("security-groups-normalized-cidr", "Normalized CIDR field for security "
              "group rules", "Add new field with normalized remote_ip_prefix cidr in SG "
              "rule", "2020-07-28T10:00:00-00:00"),
    Extension("security-groups-remote-address-group", "Remote address group id field "
              "for security group rules", "Add new field of remote address group id in "
              "SG rules", "2020-08-25T10:00:00-00:00"),
    Extension("security-groups-rules-belongs-to-default-sg", "Security group rule "
              "belongs to the project's default security group", "Flag to determine if "
              "the security group rule belongs to the project's default security group",
              "2023-05-23T10:00:00-00:00"),
    Extension("security-groups-shared-filtering", "Security group filtering on the "
              "shared field", "Support filtering security groups on the shared field",
              "2021-10-05T09:00:00-00:00"),
    Extension("segment", "Segment", "Segments extension.", "2016-02-24T17:00:00-00:00"),
    Extension("sort-key-validation", "Sort keys validation",
              "Provides validation on sort keys.", "2018-07-04T10:00:00-00:00"),
    Extension("sorting", "Sorting support", "Extension that indicates that sorting is "
              "enabled.", "2016-06-12T00:00:00-00:00"),
    Extension("standard-attr-description", "standard-attr-description", "Extension to "
              "add descriptions to standard attributes", "2016-02-10T10:00:00-00:00"),
    Extension("standard-attr-revisions", "Resource revision numbers", "This extension "
              "will display the revision number of neutron resources.",
              "2016-04-11T10:00:00-00:00"),
    Extension("standard-attr-segment", "Standard Attribute Segment Extension",
              "Add standard attributes to Segment resource", "2018-04-09T10:00:00-00:00"),
    Extension("standard-attr-tag", "Tag support for resources with standard attribute: "
              "port, subnet, subnetpool, network, security_group, router, floatingip, "
              "policy, trunk, network_segment_range", "Enables to set tag on "
              "resources with standard attribute.", "2017-01-01T00:00:00-00:00"),
    Extension("standard-attr-timestamp", "Resource timestamps", "Adds created_at and "
              "updated_at fields to all Neutron resources that have Neutron standard "
              "attributes.", "2016-09-12T10:00:00-00:00"),
    # Upstream's "updated" really is this (not a valid date).
    Extension("stateful-security-group", "Stateful security group", "Indicates if the "
              "security group is stateful or not", "2019-11-26T09:00:00-00:00"),
    Extension("subnet_allocation", "Subnet Allocation", "Enables allocation of subnets "
              "from a subnet pool", "2015-03-30T10:00:00-00:00"),
    Extension("subnetpool-prefix-ops", "Subnet Pool Prefix Operations", "Provides support "
              "for adjusting the prefix list of subnet pools", "2019-02-08T10:00:00-00:00"),
    Extension("tag-creation", "Tag creation extension", "Allow to create multiple tags "
              "for a resource", "2024-23-07T10:00:00-00:00"),
    Extension("tag-ports-during-bulk-creation", "Tag Ports During Bulk Creation",
              "Allow to tag ports during bulk creation", "2019-12-29T19:00:00-00:00"),
    Extension("uplink-status-propagation", "Uplink status propagation extension",
              "Provides ability to propagate port uplink status.",
              "2018-05-31T18:00:00-00:00"),
]

BY_ALIAS = {e.alias: e for e in EXTENSIONS}
