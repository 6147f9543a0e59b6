"""Floating IP port forwardings: the sub-resource
``/v2.0/floatingips/{floatingip_id}/port_forwardings[/{id}]`` (upstream's
floating-ip-port-forwarding, with -description, -port-ranges and -detail) and the
floating IPs' read-only ``port_forwardings`` (expose-port-forwarding-in-fip).

Ports: ``external_port``/``internal_port`` (one port, an integer) or
``external_port_range``/``internal_port_range`` (``"first[:last]"``), not both for
one side. Shown as given: a forwarding of single ports shows the two integers, one
with ranges the two range strings (a side that is a single port shows its integer).
"""

from __future__ import annotations

from typing import Any

from neutrino import exceptions as exc
from neutrino.resources import validators as v
from neutrino.resources.attributes import REQUIRED, Attr, Resource
from neutrino.resources.feature import Extension, Feature

# Upstream's protocol values (its iptables protocol map's keys).
PROTOCOLS = ["dccp", "icmp", "ipv6-icmp", "sctp", "tcp", "udp"]
PORT_MIN, PORT_MAX = 1, 65535
DESCRIPTION_MAX = 255


class PortForwardingNotFound(exc.NotFound):
    message = "Port Forwarding %(id)s could not be found."


class PortForwardingBadRequest(exc.BadRequest):
    """Upstream's BadRequest(resource='port_forwarding', msg=...)."""

    def __init__(self, msg: str) -> None:
        exc.NeutronError.__init__(self, resource="port_forwarding", msg=msg)

    @property
    def type(self) -> str:
        return "BadRequest"


class PortHasBindingFloatingIP(exc.InUse):
    message = ("Cannot create port forwarding to floating IP %(floating_ip_address)s "
               "(%(fip_id)s) with port %(port_id)s using fixed IP %(fixed_ip)s, as "
               "that port already has a binding floating IP.")


class FipInUseByPortForwarding(exc.InUse):
    message = "Floating IP %(id)s in use by Port Forwarding resources."


class PortForwardingNotSupportFilterField(exc.BadRequest):
    message = "Port Forwarding filter %(filter)s is not supported."


def protocol(value: Any) -> str:
    """A protocol name (any case) of `PROTOCOLS`."""
    name = value.lower() if isinstance(value, str) else value
    if name not in PROTOCOLS:
        raise v.bad("protocol", f"'{value}' is not in {PROTOCOLS}")
    return str(name)


def single_port(attr: str) -> Any:
    """An integer port, or None (the range is given instead)."""
    inner = v.int_in_range(attr, PORT_MIN, PORT_MAX)

    def convert(value: Any) -> int | None:
        return None if value is None else inner(value)
    return convert


def parse_range(attr: str, value: Any) -> tuple[int, int]:
    """``"first[:last]"`` (or an integer) as (first, last)."""
    text = str(value).strip() if isinstance(value, (str, int)) else None
    if text is None or isinstance(value, bool):
        raise v.bad(attr, f"Port range must be a string: '{value}'")
    parts = text.split(":")
    if len(parts) > 2 or not all(p.isdigit() for p in parts):
        raise v.bad(attr, f"Port range must be two integers separated by a colon: "
                          f"'{value}'")
    numbers = [int(p) for p in parts]
    for number in numbers:
        if not PORT_MIN <= number <= PORT_MAX:
            raise v.bad(attr, f"Invalid port: {number}")
    if len(numbers) == 2 and numbers[0] > numbers[1]:
        raise v.bad(attr, "First port in a port range must be lower than the second "
                          "port")
    return numbers[0], numbers[-1]


def port_range(attr: str) -> Any:
    def convert(value: Any) -> str | None:
        if value is None:
            return None
        first, last = parse_range(attr, value)
        return f"{first}:{last}"
    return convert


def format_range(first: int, last: int) -> str:
    return f"{first}:{last}"


PORT_FORWARDING = Resource("port_forwarding", "port_forwardings",
                           path="floatingips/{floatingip_id}/port_forwardings",
                           not_found=PortForwardingNotFound, not_found_key="id",
                           tag_support=False)
PORT_FORWARDING.add(
    Attr("id", convert=v.uuid_value("id"), allow_post=False),
    Attr("external_port", convert=single_port("external_port"), default=None,
         allow_put=True, filter_convert=v.query_int),
    Attr("internal_port", convert=single_port("internal_port"), default=None,
         allow_put=True, filterable=False, sortable=False),
    Attr("internal_ip_address", convert=v.ip_address("internal_ip_address"),
         default=REQUIRED, allow_put=True, filterable=False),
    Attr("protocol", convert=protocol, default=REQUIRED, allow_put=True),
    Attr("internal_port_id", convert=v.uuid_value("internal_port_id"), default=REQUIRED,
         allow_put=True),
    Attr("description", convert=v.string("description", DESCRIPTION_MAX), default="",
         allow_put=True, sortable=False),
    Attr("external_port_range", convert=port_range("external_port_range"), default=None,
         allow_put=True),
    Attr("internal_port_range", convert=port_range("internal_port_range"), default=None,
         allow_put=True, filterable=False, sortable=False),
    # Upstream's project_id: given on create (admin for another project), used by
    # policy, never shown (the floating IP's owner is the one that counts).
    Attr("project_id", convert=v.project_id, default=None, visible=False,
         filterable=False, sortable=False),
    Attr("tenant_id", convert=v.project_id, default=None, visible=False,
         filterable=False, sortable=False),
)

# What a floating IP shows of each of its port forwardings
# (expose-port-forwarding-in-fip, with -detail's id and internal_port_id).
FIP_FIELDS = ("id", "internal_port_id", "internal_ip_address", "internal_port",
              "internal_port_range", "external_port", "external_port_range", "protocol")

FEATURE = Feature(
    "floating-ip-port-forwarding",
    (Extension("floating-ip-port-forwarding", "Floating IP Port Forwarding",
               "Allow port forwarding from floating IP port to an internal port",
               "2018-01-19T10:00:00-00:00"),
     Extension("floating-ip-port-forwarding-description",
               "Floating IP Port Forwarding new attribute description",
               "Add a description field to Port Forwarding rules",
               "2019-11-01T10:00:00-00:00"),
     Extension("floating-ip-port-forwarding-detail", "Floating IP port forwarding detail",
               "Allow list floating ip return more port forwarding data, "
               "include'id' and 'internal_port_id'", "2022-05-06T10:00:00-00:00"),
     Extension("floating-ip-port-forwarding-port-ranges",
               "Floating IP Port Forwarding support port ranges",
               "Add suport to port ranges", "2020-07-01T10:00:00-00:00")),
    resources=(PORT_FORWARDING,))

EXPOSE_IN_FIP = Feature(
    "expose-port-forwarding-in-fip",
    (Extension("expose-port-forwarding-in-fip", "Expose Floating IP port forwardings",
               "Expose port forwarding fields in floating IP response",
               "2018-06-28T16:00:00-00:00"),),
    adds={"floatingips": (Attr("port_forwardings", allow_post=False, filterable=False,
                               sortable=False),)})
