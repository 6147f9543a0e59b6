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
    Extension("empty-string-filtering", "Empty String Filtering Extension",
              "Allow filtering by attributes with empty string value",
              "2018-05-01T10:00:00-00:00"),
    Extension("filter-validation", "Filter parameters validation",
              "Provides validation on filter parameters.", "2018-07-04T10:00:00-00:00"),
    Extension("ip-substring-filtering", "IP address substring filtering",
              "Provides IP address substring filtering when listing ports",
              "2017-11-28T09:00:00-00:00"),
    Extension("net-mtu", "Network MTU", "Provides MTU attribute for a network resource.",
              "2015-03-25T10:00:00-00:00"),
    Extension("net-mtu-writable", "Network MTU (writable)", "Provides a writable MTU "
              "attribute for a network resource.", "2017-07-12T00:00:00-00:00"),
    Extension("pagination", "Pagination support", "Extension that indicates that "
              "pagination is enabled.", "2016-06-12T00:00:00-00:00"),
    Extension("project-id", "project_id field enabled", "Extension that indicates that "
              "project_id field is enabled.", "2016-09-09T09:09:09-09:09"),
    Extension("quotas", "Quota management support", "Expose functions for quotas "
              "management per project", "2012-07-29T10:00:00-00:00"),
    Extension("quota_details", "Quota details management support", "Expose functions "
              "for quotas usage statistics per project", "2017-02-10T10:00:00-00:00"),
    Extension("revision-if-match", "If-Match constraints based on revision_number",
              "Extension indicating that If-Match based on revision_number is "
              "supported.", "2016-12-11T00:00:00-00:00"),
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
    Extension("tag-creation", "Tag creation extension", "Allow to create multiple tags "
              "for a resource", "2024-23-07T10:00:00-00:00"),
]

BY_ALIAS = {e.alias: e for e in EXTENSIONS}
