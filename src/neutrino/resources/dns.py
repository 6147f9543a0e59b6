"""dns-integration and dns-domain-ports: `dns_name`, `dns_domain` and the computed
`dns_assignment` of ports, `dns_domain` of networks, `dns_name` and `dns_domain` of
floating IPs.

Values are lowercased (DNS names are case-insensitive) and checked against RFC 1123
/ RFC 952 with upstream's messages. The checks that depend on the `dns_domain`
option (a FQDN `dns_name` must end with it) are in `services/dns.py`.
"""

from __future__ import annotations

import re
from typing import Any

from neutrino import exceptions as exc
from neutrino.resources import validators as v
from neutrino.resources.attributes import Attr
from neutrino.resources.feature import Extension, Feature

DNS_NAME = "dns_name"
DNS_DOMAIN = "dns_domain"
DNS_ASSIGNMENT = "dns_assignment"
FQDN_MAX_LEN = 255
# While the dns_domain option is this, ports' DNS attributes are ignored (upstream).
DNS_DOMAIN_DEFAULT = "openstacklocal."
_LABEL = re.compile(r"^(?!-)[a-zA-Z0-9-]{1,63}(?<!-)$")
_NUMERIC = re.compile(r"^[0-9]+$")


def lowercase(value: Any) -> str:
    if not isinstance(value, str):
        raise exc.InvalidInput(f"Input value {value} must be string type")
    return value.lower()


def dns_format_error(data: str, max_len: int = FQDN_MAX_LEN) -> str | None:
    """Why `data` is not a valid PQDN or FQDN (a trailing dot marks a FQDN), or
    None."""
    if not data:
        return None
    trimmed = data[:-1] if data.endswith(".") else data
    reason = None
    labels = trimmed.split(".")
    if len(trimmed) > max_len:
        reason = f"'{trimmed}' exceeds the {max_len} character FQDN limit"
    else:
        for label in labels:
            if not label:
                reason = "Encountered an empty component"
            elif label.startswith("-") or label.endswith("-"):
                reason = f"Name '{label}' must not start or end with a hyphen"
            elif not _LABEL.match(label):
                reason = (f"Name '{label}' must be 1-63 characters long, each of which "
                          "can only be alphanumeric or a hyphen")
            if reason:
                break
        else:
            # RFC 1123: a top-level domain is not all numeric.
            if len(labels) > 1 and _NUMERIC.match(labels[-1]):
                reason = f"TLD '{labels[-1]}' must not be all numeric"
    if reason is None:
        return None
    return f"'{data}' not a valid PQDN or FQDN. Reason: {reason}"


def dns_domain_error(data: str, max_len: int = FQDN_MAX_LEN) -> str | None:
    """Why `data` is not a valid DNS domain (a FQDN with room for a name), or None."""
    if not data:
        return None
    if not data.endswith("."):
        return f"'{data}' is not a FQDN"
    error = dns_format_error(data, max_len)
    if error:
        return error
    if len(data) > max_len - 2:
        return (f"'{data}' contains {len(data)} characters. Adding a sub-domain will "
                f"cause it to exceed the maximum length of a FQDN of '{max_len}'")
    return None


def fip_dns_name_error(data: str, max_len: int = FQDN_MAX_LEN) -> str | None:
    """Why `data` is not a floating IP's dns_name (a relative name), or None."""
    if not data:
        return None
    if data.endswith("."):
        return f"'{data}' is a FQDN. It should be a relative domain name"
    error = dns_format_error(data, max_len)
    if error:
        return error
    if len(data) > max_len - 3:
        return (f"'{data}' contains {len(data)} characters. Adding a domain name will "
                f"cause it to exceed the maximum length of a FQDN of '{max_len}'")
    return None


def convert_fip_dns_name(value: Any) -> str:
    """A floating IP's dns_name (for dns-integration on floating IPs)."""
    name = lowercase(value)
    error = fip_dns_name_error(name)
    if error:
        raise v.bad(DNS_NAME, error)
    return name


def convert_dns_name(value: Any) -> str:
    name = lowercase(value)
    error = dns_format_error(name)
    if error:
        raise v.bad(DNS_NAME, error)
    return name


def convert_dns_domain(value: Any) -> str:
    domain = lowercase(value)
    error = dns_domain_error(domain)
    if error:
        raise v.bad(DNS_DOMAIN, error)
    return domain


def dotted(domain: str) -> str:
    """The dns_domain option as a FQDN ('' stays '')."""
    return domain if not domain or domain.endswith(".") else domain + "."


def dns_name_domain_error(dns_name: str, option: str) -> str | None:
    """Upstream's check of a dns_name against the dns_domain option (`option` as
    configured; ignored while it is the default)."""
    domain = dotted(option)
    if not dns_name or not domain or domain == DNS_DOMAIN_DEFAULT:
        return None
    higher = f".{domain}"
    if not dns_name.endswith("."):
        if len(dns_name) + len(higher) > FQDN_MAX_LEN:
            return (f"The dns_name passed is a PQDN and its size is '{len(dns_name)}'. "
                    f"The dns_domain option in neutron.conf is set to {option}, with a "
                    f"length of '{len(higher)}'. When the two are concatenated to form "
                    "a FQDN (with a '.' at the end), the resulting length exceeds the "
                    f"maximum size of '{FQDN_MAX_LEN}'")
        return None
    if len(dns_name) <= len(higher) or not dns_name.endswith(higher):
        return ("The dns_name passed is a FQDN. Its higher level labels must be equal "
                "to the dns_domain option in neutron.conf, that has been set to "
                f"'{option}'. It must also include one or more valid DNS labels to the "
                f"left of '{option}'")
    return None


def dns_assignment(fixed_ips: list[dict], dns_name: str, domain: str) -> list[dict]:
    """{ip_address, hostname, fqdn} per fixed IP: the port's dns_name, else
    host-<address with dashes>; the FQDN adds the domain (`domain` dotted or '')."""
    out = []
    for ip in fixed_ips:
        address = ip["ip_address"]
        if dns_name:
            hostname = dns_name
            fqdn = dns_name if dns_name.endswith(".") else f"{dns_name}.{domain}"
        else:
            hostname = "host-" + address.replace(".", "-").replace(":", "-")
            fqdn = f"{hostname}.{domain}" if domain else hostname
        out.append({"ip_address": address, "hostname": hostname, "fqdn": fqdn})
    return out


FEATURE = Feature(
    "dns",
    (Extension("dns-domain-ports", "dns_domain for ports",
               "Allows the DNS domain to be specified for a network port.",
               "2017-04-24T10:00:00-00:00"),
     Extension("dns-integration", "DNS Integration", "Provides integration with DNS.",
               "2015-08-15T18:00:00-00:00")),
    adds={
        "ports": (
            # Filters, not sort keys: the values live in an extension table the list
            # query does not join (sorting by them answers 400 like any unsortable
            # attribute).
            Attr(DNS_NAME, convert=convert_dns_name, default="", allow_put=True,
                 sortable=False),
            Attr(DNS_DOMAIN, convert=convert_dns_domain, default="", allow_put=True,
                 sortable=False),
            Attr(DNS_ASSIGNMENT, allow_post=False, filterable=False, sortable=False),
        ),
        "networks": (
            Attr(DNS_DOMAIN, convert=convert_dns_domain, default="", allow_put=True,
                 sortable=False),
        ),
        # Set at create only; neither a filter nor a sort key (upstream).
        "floatingips": (
            Attr(DNS_NAME, convert=convert_fip_dns_name, default="", filterable=False,
                 sortable=False),
            Attr(DNS_DOMAIN, convert=convert_dns_domain, default="", filterable=False,
                 sortable=False),
        ),
    })
