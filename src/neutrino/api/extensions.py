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
    Extension("agent", "agent", "The agent management extension.",
              "2013-02-03T10:00:00-00:00"),
    Extension("allowed-address-pairs", "Allowed Address Pairs",
              "Provides allowed address pairs", "2013-07-23T10:00:00-00:00"),
    Extension("availability_zone", "Availability Zone",
              "The availability zone extension.", "2015-01-01T10:00:00-00:00"),
    Extension("empty-string-filtering", "Empty String Filtering Extension",
              "Allow filtering by attributes with empty string value",
              "2018-05-01T10:00:00-00:00"),
    Extension("extra_dhcp_opt", "Neutron Extra DHCP options", "Extra options "
              "configuration for DHCP. For example PXE boot options to DHCP clients can be "
              "specified (e.g. tftp-server, server-ip-address, bootfile-name)",
              "2013-03-17T12:00:00-00:00"),
    Extension("filter-validation", "Filter parameters validation",
              "Provides validation on filter parameters.", "2018-07-04T10:00:00-00:00"),
    Extension("ip-substring-filtering", "IP address substring filtering",
              "Provides IP address substring filtering when listing ports",
              "2017-11-28T09:00:00-00:00"),
    Extension("multi-provider", "Multi Provider Network", "Expose mapping of virtual "
              "networks to multiple physical networks", "2013-06-27T10:00:00-00:00"),
    Extension("net-mtu", "Network MTU", "Provides MTU attribute for a network resource.",
              "2015-03-25T10:00:00-00:00"),
    Extension("net-mtu-writable", "Network MTU (writable)", "Provides a writable MTU "
              "attribute for a network resource.", "2017-07-12T00:00:00-00:00"),
    Extension("pagination", "Pagination support", "Extension that indicates that "
              "pagination is enabled.", "2016-06-12T00:00:00-00:00"),
    Extension("port-security", "Port Security", "Provides port security",
              "2012-07-23T10:00:00-00:00"),
    Extension("port-security-groups-filtering", "Port filtering on security groups",
              "Provides security groups filtering when listing ports",
              "2018-01-09T09:00:00-00:00"),
    Extension("project-id", "project_id field enabled", "Extension that indicates that "
              "project_id field is enabled.", "2016-09-09T09:09:09-09:09"),
    Extension("provider", "Provider Network", "Expose mapping of virtual networks to "
              "physical networks", "2012-09-07T10:00:00-00:00"),
    Extension("quotas", "Quota management support", "Expose functions for quotas "
              "management per project", "2012-07-29T10:00:00-00:00"),
    Extension("quota_details", "Quota details management support", "Expose functions "
              "for quotas usage statistics per project", "2017-02-10T10:00:00-00:00"),
    Extension("revision-if-match", "If-Match constraints based on revision_number",
              "Extension indicating that If-Match based on revision_number is "
              "supported.", "2016-12-11T00:00:00-00:00"),
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
    Extension("sorting", "Sorting support", "Extension that indicates that sorting is "
              "enabled.", "2016-06-12T00:00:00-00:00"),
    Extension("standard-attr-description", "standard-attr-description", "Extension to "
              "add descriptions to standard attributes", "2016-02-10T10:00:00-00:00"),
    Extension("standard-attr-revisions", "Resource revision numbers", "This extension "
              "will display the revision number of neutron resources.",
              "2016-04-11T10:00:00-00:00"),
    Extension("standard-attr-tag", "Tag support for resources with standard attribute: "
              "port, subnet, subnetpool, network, security_group, router, floatingip, "
              "policy, trunk, network_segment_range", "Enables to set tag on "
              "resources with standard attribute.", "2017-01-01T00:00:00-00:00"),
    # Upstream's "updated" really is this (not a valid date).
    Extension("stateful-security-group", "Stateful security group", "Indicates if the "
              "security group is stateful or not", "2019-11-26T09:00:00-00:00"),
    Extension("tag-creation", "Tag creation extension", "Allow to create multiple tags "
              "for a resource", "2024-23-07T10:00:00-00:00"),
]

BY_ALIAS = {e.alias: e for e in EXTENSIONS}
