"""``PUT /v2.0/<collection>/{id}/<action>``: the member actions outside CRUD, served
by one handler driven by a table of (collection, action) -> body parser, service
call and answer. A few are GETs without a body (the trunks' ``get_subports``).

Every action runs in upstream's order: the body is checked (400), the resource
loaded as the caller sees it (404), the action's policy rule enforced on it (403),
then the service does the work in its own transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import falcon

from neutrino import exceptions as exc
from neutrino.api import body as bodies
from neutrino.api.controller import Member, send
from neutrino.context import Context
from neutrino.core import Core
from neutrino.resources import validators as v
from neutrino.resources.address_group import address_list
from neutrino.resources.router import routes
from neutrino.resources.subnetpool import prefix_list
from neutrino.resources.trunk import subports_problem

T = TypeVar("T")


@dataclass(frozen=True)
class MemberAction(Generic[T]):
    member: Member
    action: str  # the URL's last segment and the policy rule
    parse: Callable[[object], T]  # the decoded body -> the call's argument (400s)
    # (ctx, resource id, argument) -> a resource, or the action's own answer (a list
    # for onboard_network_subnets).
    call: Callable[[Context, str, T], dict[str, Any] | list[dict[str, Any]]]
    # The answer: the updated resource rendered under its name, or the call's result.
    render: bool
    method: str = "PUT"  # GET actions take no body (parse gets None)
    # Under the resource's name ({"trunk": {...}}), or the rendered resource itself:
    # upstream's trunk plugin returns the trunk as the whole body of add_subports and
    # remove_subports (neutron-tempest-plugin's test_trunk reads body["sub_ports"]).
    wrap: bool = True


class MemberActionHandler:
    def __init__(self, spec: MemberAction[Any]) -> None:
        self.spec = spec

    def on_put(self, req: falcon.Request, resp: falcon.Response, resource_id: str) -> None:
        if self.spec.method != "PUT":
            raise falcon.HTTPMethodNotAllowed(["GET"])
        self._run(req, resp, resource_id, bodies.decode(req.bounded_stream.read()))

    def on_get(self, req: falcon.Request, resp: falcon.Response, resource_id: str) -> None:
        if self.spec.method != "GET":
            raise falcon.HTTPMethodNotAllowed(["PUT"])
        self._run(req, resp, resource_id, None)

    def _run(self, req: falcon.Request, resp: falcon.Response, resource_id: str,
             body: object) -> None:
        ctx: Context = req.context.ctx
        spec, member = self.spec, self.spec.member
        argument = spec.parse(body)
        current = member.load_visible(ctx, resource_id)
        member.policy.enforce(ctx, spec.action, current)
        result = spec.call(ctx, resource_id, argument)
        if spec.render and isinstance(result, dict):
            rendered = member.view.render(ctx, result)
            send(resp, {member.resource.name: rendered} if spec.wrap else rendered)
        else:
            send(resp, result)


# -- the bodies ---------------------------------------------------------------------

def _addresses(body: object) -> list[str]:
    if not isinstance(body, dict) or "addresses" not in body:
        raise v.bad("addresses", "Addresses must be specified")
    return address_list(body["addresses"])


def _prefixes(body: object) -> list[str]:
    if not isinstance(body, dict):
        raise exc.HTTPBadRequest("Request body contains invalid data")
    prefixes = body.get("prefixes")
    if not prefixes or not isinstance(prefixes, list):
        raise exc.HTTPBadRequest("Missing or invalid prefixes list in request body")
    result: list[str] = prefix_list("prefixes")(prefixes)
    return result


def _extraroutes(body: object) -> list[dict[str, str]]:
    if not isinstance(body, dict) or not isinstance(body.get("router"), dict):
        raise exc.HTTPBadRequest("Unable to find 'router' in request body")
    item = body["router"]
    if set(item) != {"routes"}:
        raise v.bad("routes", "Only the routes attribute is allowed")
    result: list[dict[str, str]] = routes(item["routes"])
    return result


def _network_id(body: object) -> str:
    """subnet_onboard's {"network_id": ...}; checked after the pool's policy, as
    upstream (the service does it there)."""
    network_id = body.get("network_id") if isinstance(body, dict) else None
    if network_id is None:
        raise exc.InvalidInput("network_id must be specified.")
    if not isinstance(network_id, str) or not v.UUID_RE.match(network_id):
        raise exc.NetworkNotFound(net_id=network_id)
    return network_id


def _subports(body: object) -> list[dict]:
    """add/remove_subports' {"sub_ports": [...]}: checked as the trunk's attribute,
    reported as upstream's plugin does (InvalidInput)."""
    if not isinstance(body, dict) or "sub_ports" not in body:
        raise exc.InvalidInput("Invalid data format for subports: 'sub_ports' is "
                               "required")
    problem = subports_problem(body["sub_ports"])
    if problem:
        raise exc.InvalidInput(problem)
    return [dict(s) for s in body["sub_ports"]]


def _as_is(body: object) -> object:
    """The service checks the body itself (router interfaces: after the policy)."""
    return body


def actions(core: Core, members: dict[str, Member]) -> dict[tuple[str, str],
                                                             MemberAction[Any]]:
    """(URL path of the collection, action) -> what the action does."""
    groups, pools = core.address_groups, core.subnetpools
    routers, interfaces = core.routers, core.router_interfaces
    group = members[groups.resource.url_path]
    pool = members[pools.resource.url_path]
    router = members[routers.resource.url_path]
    table: list[tuple[str, MemberAction[Any]]] = [
        (groups.resource.url_path, MemberAction(
            group, "add_addresses", _addresses,
            lambda ctx, id_, a: groups.change_addresses(ctx, id_, a, True), True)),
        (groups.resource.url_path, MemberAction(
            group, "remove_addresses", _addresses,
            lambda ctx, id_, a: groups.change_addresses(ctx, id_, a, False), True)),
        (pools.resource.url_path, MemberAction(
            pool, "add_prefixes", _prefixes,
            lambda ctx, id_, p: pools.change_prefixes(ctx, id_, p, True), False)),
        (pools.resource.url_path, MemberAction(
            pool, "remove_prefixes", _prefixes,
            lambda ctx, id_, p: pools.change_prefixes(ctx, id_, p, False), False)),
        (pools.resource.url_path, MemberAction(
            pool, "onboard_network_subnets", _as_is,
            lambda ctx, id_, b: pools.onboard_network_subnets(ctx, id_, _network_id(b)),
            False)),
        (routers.resource.url_path, MemberAction(
            router, "add_router_interface", _as_is, interfaces.add, False)),
        (routers.resource.url_path, MemberAction(
            router, "remove_router_interface", _as_is, interfaces.remove, False)),
        (routers.resource.url_path, MemberAction(
            router, "add_extraroutes", _extraroutes,
            lambda ctx, id_, r: routers.change_routes(ctx, id_, r, True), True)),
        (routers.resource.url_path, MemberAction(
            router, "remove_extraroutes", _extraroutes,
            lambda ctx, id_, r: routers.change_routes(ctx, id_, r, False), True)),
    ]
    # Trunks (issue 14): the sub-ports.
    trunks = core.trunks
    trunk = members[trunks.resource.url_path]
    table += [
        (trunks.resource.url_path, MemberAction(
            trunk, "add_subports", _subports, trunks.add_subports, True, wrap=False)),
        (trunks.resource.url_path, MemberAction(
            trunk, "remove_subports", _subports, trunks.remove_subports, True,
            wrap=False)),
        (trunks.resource.url_path, MemberAction(
            trunk, "get_subports", _as_is,
            lambda ctx, id_, _: trunks.get_subports(ctx, id_), False, "GET")),
    ]
    return {(path, spec.action): spec for path, spec in table}


def add_routes(app: falcon.App[falcon.Request, falcon.Response], core: Core,
               members: dict[str, Member]) -> None:
    for (path, action), spec in actions(core, members).items():
        app.add_route(f"/v2.0/{path}/{{resource_id}}/{action}", MemberActionHandler(spec))
