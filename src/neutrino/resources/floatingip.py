"""Floating IPs (extension router; fip-port-details adds port_details; the dns
feature adds dns_name and dns_domain)."""

from __future__ import annotations

from neutrino import exceptions as exc
from neutrino.resources import validators as v
from neutrino.resources.attributes import REQUIRED, Attr, Resource
from neutrino.resources.feature import extension
from neutrino.resources.standard import standard_attrs


class FloatingIPNotFound(exc.NotFound):
    message = "Floating IP %(floatingip_id)s could not be found"


class FloatingIPBadRequest(exc.BadRequest):
    """Upstream's BadRequest(resource='floatingip', msg=...): type "BadRequest"."""

    def __init__(self, msg: str) -> None:
        exc.NeutronError.__init__(self, resource="floatingip", msg=msg)

    @property
    def type(self) -> str:
        return "BadRequest"


class FloatingIPPortAlreadyAssociated(exc.InUse):
    message = ("Cannot associate floating IP %(floating_ip_address)s (%(fip_id)s) with "
               "port %(port_id)s using fixed IP %(fixed_ip)s, as that fixed IP already "
               "has a floating IP on external network %(net_id)s.")


class ExternalGatewayForFloatingIPNotFound(exc.NotFound):
    message = ("External network %(external_network_id)s is not reachable from subnet "
               "%(subnet_id)s.  Therefore, cannot associate Port %(port_id)s with a "
               "Floating IP.")


FLOATINGIP = Resource("floatingip", "floatingips", not_found=FloatingIPNotFound,
                      not_found_key="floatingip_id")
FLOATINGIP.add(
    *[a for a in standard_attrs() if a.name != "name"],
    Attr("floating_ip_address", convert=v.ip_address_or_none("floating_ip_address"),
         default=None, enforce_policy=True),
    Attr("subnet_id", convert=v.uuid_or_none("subnet_id"), default=None, visible=False,
         filterable=False, sortable=False),
    Attr("floating_network_id", convert=v.uuid_value("floating_network_id"),
         default=REQUIRED),
    Attr("router_id", allow_post=False),
    Attr("port_id", convert=v.uuid_or_none("port_id"), default=None, allow_put=True),
    Attr("fixed_ip_address", convert=v.ip_address_or_none("fixed_ip_address"),
         default=None, allow_put=True),
    Attr("status", allow_post=False),
    Attr("port_details", allow_post=False, filterable=False, sortable=False),
)

# port_details is a base attribute: this feature is the alias only.
FIP_PORT_DETAILS = extension(
    "fip-port-details", "Floating IP Port Details Extension", "Add port_details "
    "attribute to Floating IP resource", "2018-04-09T10:00:00-00:00")
