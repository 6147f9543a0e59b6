"""The built-in upstream: Nova's metadata trees answered from Neutrino's own data.

Pure: ``respond(details, path)`` of the server's answer for the instance
(get_metadata_instance, docs/rpc.md) and the request path gives (status,
content type, body). Served (the formats are Nova's, so cloud-init reads them):

OpenStack tree::

  /openstack                               versions, one a line ("latest" last)
  /openstack/<version>                     meta_data.json network_data.json
                                           vendor_data.json vendor_data2.json
  /openstack/<version>/meta_data.json      uuid (= the port's device_id), name,
                                           hostname, project_id, launch_index,
                                           public_keys {}, keys [], meta {}, devices []
  /openstack/<version>/network_data.json   links (the port), networks (one per
                                           fixed IP: ipv4_dhcp, ipv4 with address and
                                           routes, ipv6_slaac, ...), services (DNS)
  /openstack/<version>/vendor_data*.json   {}

EC2 tree::

  /                                        versions
  /<version>                               meta-data/
  /<version>/meta-data                     the keys below, one a line
  /<version>/meta-data/<key>               instance-id (i-<8 hex of the uuid>, Nova's
                                           form), hostname, local-hostname,
                                           public-hostname, local-ipv4, public-ipv4
                                           (the first floating IP, or empty), mac,
                                           instance-type, placement/availability-zone

No user data, keys or passwords (404): Neutrino does not know them.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable

from neutrino.contract.metadata import MetadataInstance, MetadataSubnet

OPENSTACK_VERSIONS = ("2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15",
                      "2016-06-30", "2016-10-06", "2017-02-22", "2018-08-27",
                      "2020-10-14", "latest")
EC2_VERSIONS = ("1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10",
                "2007-12-15", "2008-02-01", "2008-09-01", "2009-04-04", "latest")
OPENSTACK_FILES = ("meta_data.json", "network_data.json", "vendor_data.json",
                   "vendor_data2.json")
EC2_KEYS = ("hostname", "instance-id", "instance-type", "local-hostname", "local-ipv4",
            "mac", "placement/", "public-hostname", "public-ipv4")
AVAILABILITY_ZONE = "nova"
TEXT = "text/plain; charset=UTF-8"
JSON = "application/json"

Response = tuple[int, str, bytes]


def _text(body: str) -> Response:
    return 200, TEXT, body.encode()


def _json(value: object) -> Response:
    return 200, JSON, json.dumps(value, sort_keys=True).encode()


NOT_FOUND: Response = (404, TEXT, b"404 Not Found\n\nThe resource could not be found.\n")


def respond(details: MetadataInstance, path: str) -> Response:
    """The answer to GET `path` (query string removed) for the instance."""
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["openstack"]:
        return _openstack(details, parts[1:])
    return _ec2(details, parts)


# -- OpenStack ------------------------------------------------------------------------


def _openstack(details: MetadataInstance, parts: list[str]) -> Response:
    if not parts:
        return _text("\n".join(OPENSTACK_VERSIONS))
    if parts[0] not in OPENSTACK_VERSIONS:
        return NOT_FOUND
    if len(parts) == 1:
        return _text("\n".join(OPENSTACK_FILES))
    if len(parts) != 2:
        return NOT_FOUND
    name = parts[1]
    if name == "meta_data.json":
        return _json(meta_data(details))
    if name == "network_data.json":
        return _json(network_data(details))
    if name in ("vendor_data.json", "vendor_data2.json"):
        return _json({})
    return NOT_FOUND


def hostname(details: MetadataInstance) -> str:
    # hostname is absent when the port has no dns_assignment.
    return details["port"].get("hostname") or "host-" + (
        local_ipv4(details) or "unknown").replace(".", "-")


def meta_data(details: MetadataInstance) -> dict[str, object]:
    host = hostname(details)
    return {"uuid": details["instance_id"], "name": details["port"]["name"] or host,
            "hostname": host, "project_id": details["project_id"],
            "availability_zone": AVAILABILITY_ZONE, "launch_index": 0,
            "public_keys": {}, "keys": [], "meta": {}, "devices": []}


def link_name(port_id: str) -> str:
    return "tap" + port_id[:11]


def _ipv6_type(subnet: MetadataSubnet) -> str:
    mode = subnet["ipv6_address_mode"]
    if mode == "slaac":
        return "ipv6_slaac"
    if mode in ("dhcpv6-stateful", "dhcpv6-stateless"):
        return f"ipv6_{mode}"
    return "ipv6"


def _routes(subnet: MetadataSubnet) -> list[dict[str, str]]:
    net = ipaddress.ip_network(subnet["cidr"])
    out = []
    for route in subnet["host_routes"]:
        dest = ipaddress.ip_network(route["destination"])
        out.append({"network": str(dest.network_address), "netmask": str(dest.netmask),
                    "gateway": route["nexthop"]})
    if subnet["gateway_ip"]:
        anywhere = "0.0.0.0" if net.version == 4 else "::"
        out.append({"network": anywhere, "netmask": anywhere,
                    "gateway": subnet["gateway_ip"]})
    return out


def _dns_services(subnets: Iterable[MetadataSubnet]) -> list[dict[str, str]]:
    seen: list[str] = []
    for subnet in subnets:
        for address in subnet["dns_nameservers"]:
            if address not in seen and address not in ("0.0.0.0", "::"):
                seen.append(address)
    return [{"type": "dns", "address": address} for address in seen]


def network_data(details: MetadataInstance) -> dict[str, object]:
    """Nova's network_data.json for the instance's port: DHCP subnets as
    ``ipv4_dhcp`` (the guest asks DHCP), others static with address and routes."""
    port = details["port"]
    subnets = {s["id"]: s for s in details["subnets"]}
    link = link_name(port["id"])
    links = [{"id": link, "vif_id": port["id"], "type": "bridge",
              "mtu": details["network"]["mtu"],
              "ethernet_mac_address": port["mac_address"]}]
    networks = []
    for index, ip in enumerate(port["fixed_ips"]):
        subnet = subnets.get(ip["subnet_id"])
        if subnet is None:
            continue
        entry: dict[str, object] = {"id": f"network{index}", "link": link,
                                    "network_id": port["network_id"]}
        if subnet["ip_version"] == 4 and subnet["enable_dhcp"]:
            entry["type"] = "ipv4_dhcp"
        else:
            net = ipaddress.ip_network(subnet["cidr"])
            entry["type"] = "ipv4" if net.version == 4 else _ipv6_type(subnet)
            entry.update({"ip_address": ip["ip_address"], "netmask": str(net.netmask),
                          "routes": _routes(subnet),
                          "services": _dns_services([subnet])})
        networks.append(entry)
    return {"links": links, "networks": networks,
            "services": _dns_services(subnets.values())}


# -- EC2 ---------------------------------------------------------------------------------


def ec2_instance_id(instance_id: str) -> str:
    """Nova's EC2 form ``i-%08x``: the first 8 hex digits of the uuid."""
    digits = instance_id.replace("-", "")[:8]
    try:
        int(digits, 16)
    except ValueError:
        return instance_id
    return "i-" + digits


def local_ipv4(details: MetadataInstance) -> str:
    for ip in details["port"]["fixed_ips"]:
        if ipaddress.ip_address(ip["ip_address"]).version == 4:
            return ip["ip_address"]
    return ""


def ec2_values(details: MetadataInstance) -> dict[str, str]:
    port = details["port"]
    host = port.get("fqdn") or hostname(details)   # fqdn: absent like hostname
    floating = details["floating_ips"]
    return {"hostname": host, "instance-id": ec2_instance_id(details["instance_id"]),
            "instance-type": "", "local-hostname": host, "public-hostname": host,
            "local-ipv4": local_ipv4(details),
            "public-ipv4": floating[0] if floating else "",
            "mac": port["mac_address"],
            "placement/availability-zone": AVAILABILITY_ZONE}


def _ec2(details: MetadataInstance, parts: list[str]) -> Response:
    if not parts:
        return _text("\n".join(EC2_VERSIONS))
    if parts[0] not in EC2_VERSIONS:
        return NOT_FOUND
    if len(parts) == 1:
        return _text("meta-data/")
    if parts[1] != "meta-data":
        return NOT_FOUND  # user-data, dynamic: none here
    key = "/".join(parts[2:])
    if not key:
        return _text("\n".join(EC2_KEYS))
    if key == "placement":
        return _text("availability-zone")
    values = ec2_values(details)
    if key in values:
        return _text(values[key])
    return NOT_FOUND
