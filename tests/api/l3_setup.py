"""Shared set-up for the L3 API tests: an external network with a subnet, a project
network with a subnet, a router between them."""

from __future__ import annotations

import ipaddress
import random

from server import Api


def unique_cidr(prefix: int = 24) -> str:
    """A random 10.x.y.0/24-like CIDR (the session's server is shared by many tests;
    overlapping CIDRs on one router would be refused)."""
    base = ipaddress.ip_network(f"10.{random.randint(0, 255)}.{random.randint(0, 255)}"
                                f".0/24")
    return str(next(base.subnets(new_prefix=prefix))) if prefix > 24 else str(base)


def external_network(admin: Api, cidr: str = "203.0.113.0/24", **subnet_attrs: object
                     ) -> tuple[dict, dict]:
    """An external network (admin-made, router:external) and its subnet."""
    net = admin.network(name="public", **{"router:external": True})
    subnet = admin.subnet(net["id"], cidr, enable_dhcp=False, **subnet_attrs)
    return net, subnet


def project_network(api: Api, cidr: str | None = None) -> tuple[dict, dict]:
    net = api.network(name="private")
    return net, api.subnet(net["id"], cidr or unique_cidr())


def router(api: Api, **attrs: object) -> dict:
    return api.create("router", **attrs)


def topology(admin: Api, api: Api) -> dict:
    """External net + subnet, project net + subnet, router with gateway and interface."""
    ext, ext_subnet = external_network(admin)
    net, subnet = project_network(api)
    r = router(api, name="r1", external_gateway_info={"network_id": ext["id"]})
    response = api.put(f"routers/{r['id']}/add_router_interface", {"subnet_id": subnet["id"]})
    assert response.status_code == 200, response.text
    return {"ext": ext, "ext_subnet": ext_subnet, "net": net, "subnet": subnet,
            "router": r, "interface": response.json()}


def floatingip(api: Api, network_id: str, **attrs: object) -> dict:
    return api.create("floatingip", floating_network_id=network_id, **attrs)
