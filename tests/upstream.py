"""Upstream's extension texts: the recorded deployment's extensions.json, plus the
extensions it did not enable (ML2 extension drivers `uplink_status_propagation`,
`port_trusted`, `tag_ports_during_bulk_creation`; the sort-key-validation shim), as
neutron-lib's API definitions give them."""

from __future__ import annotations

import json
from pathlib import Path

REFERENCE = Path("/work/shared/reference/neutron-29")

NOT_RECORDED = [
    # Metering (issue 14), neutron-lib's api/definitions/metering*.py.
    ("metering", "Neutron Metering", "Neutron Metering extension.",
     "2013-06-12T10:00:00-00:00"),
    ("metering_source_and_destination_fields",
     "Neutron Metering with source and destination filtering",
     "Neutron Metering extension that enables the use of source and destination IP "
     "prefixes to create metering label rules.", "2020-08-21T08:12:00-00:00"),
    ("sort-key-validation", "Sort keys validation", "Provides validation on sort keys.",
     "2018-07-04T10:00:00-00:00"),
    ("tag-ports-during-bulk-creation", "Tag Ports During Bulk Creation",
     "Allow to tag ports during bulk creation", "2019-12-29T19:00:00-00:00"),
    ("uplink-status-propagation", "Uplink status propagation extension",
     "Provides ability to propagate port uplink status.", "2018-05-31T18:00:00-00:00"),
    ("port-trusted-vif", "Port trusted vif", "Expose port 'trusted' attribute in the API",
     "2024-07-10T10:00:00-00:00"),
    # the ML2 extension drivers dns / dns_domain_ports
    ("dns-integration", "DNS Integration", "Provides integration with DNS.",
     "2015-08-15T18:00:00-00:00"),
    ("dns-domain-ports", "dns_domain for ports",
     "Allows the DNS domain to be specified for a network port.",
     "2017-04-24T10:00:00-00:00"),
    # the segments and network_segment_range service plugins
    ("segment", "Segment", "Segments extension.", "2016-02-24T17:00:00-00:00"),
    ("standard-attr-segment", "Standard Attribute Segment Extension",
     "Add standard attributes to Segment resource", "2018-04-09T10:00:00-00:00"),
    ("network-segment-range", "Neutron Network Segment Range",
     "Provides support for the network segment range management",
     "2018-11-29T00:00:00-00:00"),
    # the qos service plugin (issue 14), as neutron-lib defines them
    ("qos", "Quality of Service",
     "The Quality of Service extension.",
     "2015-06-08T10:00:00-00:00"),
    ("qos-bw-limit-direction", "Direction for QoS bandwidth limit rule",
     "Allow to configure QoS bandwidth limit rule with specific direction: "
     "ingress or egress",
     "2017-04-10T10:00:00-00:00"),
    ("qos-bw-minimum-ingress", "Ingress direction for QoS minimum bandwidth rule",
     "Allow to configure QoS minumum bandwidth rule with ingress direction.",
     "2018-07-09T10:00:00-00:00"),
    ("qos-default", "QoS default policy",
     "Expose the QoS default policy per project",
     "2017-041-06T10:00:00-00:00"),
    ("qos-port-network-policy", "QoS port network policy ID",
     "Adds a the QoS network ID to the port definition",
     "2019-11-01T10:00:00-00:00"),
    ("qos-pps", "QoS Rule Type Packet per Second Extension",
     "Add QoS Rule Type Packet per Second",
     "2021-05-12T10:00:00-00:00"),
    ("qos-pps-minimum", "QoS minimum packet rate rule",
     "Allow to configure QoS minimum packet rate rule.",
     "2021-07-14T10:00:00-00:00"),
    ("qos-pps-minimum-rule-alias", "QoS minimum packet rate rule alias",
     "API to enable GET, PUT and DELETE operations on QoS minimum packet "
     "rate rule without specifying policy ID",
     "2021-10-22T10:00:00-00:00"),
    ("qos-rule-type-details", "Details of QoS rule types",
     "Expose details about QoS rule types supported by loaded backend "
     "drivers",
     "2017-06-22T10:00:00-00:00"),
    ("qos-rule-type-filter", "Allow to filter the list of QoS rule types",
     "Allows to filter the QoS rule type list adding two new flags. "
     "\"all_rules\" prints all implemented QoS rule types.\"all_supported\" "
     "prints all supported QoS rule types by the loaded mechanism drivers",
     "2022-02-02T10:00:00-00:00"),
    ("qos-rules-alias", "Quality of Service rules alias API",
     "API to enable GET, PUT and DELETE operations on QoS policy rules "
     "without specifying policy ID",
     "2018-10-07T10:00:00-00:00"),
    # the trunk service plugin (issue 14), as neutron-lib defines them
    ("trunk", "Trunk Extension", "Provides support for trunk ports",
     "2016-01-01T10:00:00-00:00"),
    ("trunk-details", "Trunk port details", "Expose trunk port details",
     "2016-01-01T10:00:00-00:00"),
    # the port_forwarding service plugin and the L3 QoS extensions (issue 14)
    ("floating-ip-port-forwarding", "Floating IP Port Forwarding",
     "Allow port forwarding from floating IP port to an internal port",
     "2018-01-19T10:00:00-00:00"),
    ("floating-ip-port-forwarding-description",
     "Floating IP Port Forwarding new attribute description",
     "Add a description field to Port Forwarding rules", "2019-11-01T10:00:00-00:00"),
    ("floating-ip-port-forwarding-detail", "Floating IP port forwarding detail",
     "Allow list floating ip return more port forwarding data, include'id' and "
     "'internal_port_id'", "2022-05-06T10:00:00-00:00"),
    ("floating-ip-port-forwarding-port-ranges",
     "Floating IP Port Forwarding support port ranges", "Add suport to port ranges",
     "2020-07-01T10:00:00-00:00"),
    ("expose-port-forwarding-in-fip", "Expose Floating IP port forwardings",
     "Expose port forwarding fields in floating IP response", "2018-06-28T16:00:00-00:00"),
    ("qos-fip", "Floating IP QoS", "The floating IP Quality of Service extension",
     "2017-07-20T00:00:00-00:00"),
    ("qos-gateway-ip", "Router gateway IP QoS",
     "The Router gateway IP Quality of Service extension", "2018-02-24T00:00:00-00:00"),
    # the log service plugin (issue 14): neutron-lib's api/definitions/logging.py
    ("logging", "Logging API Extension",
     "Provides a logging API for resources such as security group and firewall.",
     "2017-01-01T10:00:00-00:00"),
    # the firewall_v2 service plugin (issue 16), neutron-lib's firewall_v2 definition
    ("fwaas_v2", "FWaaS v2", "Provides support for firewall-as-a-service version 2",
     "2016-10-06T10:00:00-00:00"),
    # the vpnaas service plugin (issue 16), neutron-lib's vpn and vpn_endpoint_groups
    ("vpnaas", "VPN service", "Extension for VPN service", "2013-05-29T10:00:00-00:00"),
    ("vpn-endpoint-groups", "VPN Endpoint Groups", "VPN endpoint groups support",
     "2015-08-04T10:00:00-00:00"),
]


def upstream_extensions(recorded: list[dict] | None = None) -> dict[str, dict]:
    """By alias; `recorded`: a transcript's list instead of extensions.json."""
    if recorded is None:
        recorded = json.loads((REFERENCE / "extensions.json").read_text())["extensions"]
    known = {e["alias"]: e for e in recorded}
    for alias, name, description, updated in NOT_RECORDED:
        known.setdefault(alias, {"name": name, "alias": alias, "description": description,
                                 "updated": updated, "links": []})
    return known
