"""Load balancing (issue 16): the Octavia v2 API's objects, their statuses and
the provider that runs them.

Writes follow Octavia's locking: a load balancer whose provisioning status is
PENDING_* is immutable (409), every change of it or of one of its objects puts it
in PENDING_UPDATE (the object in PENDING_CREATE / PENDING_UPDATE / PENDING_DELETE)
and bumps its revision. The provider then applies it:

* ``haproxy``: the load balancer is scheduled at create to an alive load balancer
  agent (the fewest load balancers first), its VIP port is bound to that host;
  the agent reconciles HAProxy and reports the revision it applied
  (`apply_report`): pending objects go ACTIVE (or ERROR with the agent's
  reason), PENDING_DELETE ones are removed, and the members' health gives the
  operating statuses.
* ``noop`` (Octavia's testing provider): applied at once, nothing runs.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from neutrino import events
from neutrino.context import Context
from neutrino.contract import lbaas as contract
from neutrino.db import models
from neutrino.resources import octavia as res
from neutrino.services import common, rbac
from neutrino.services.deps import Deps
from neutrino.services.octavia_views import Family, Obj, desired, operating, status_tree, view
from neutrino.services.ports import PortService

LOG = logging.getLogger(__name__)

LB = models.LbObject
VIP_OWNER = "Octavia"   # upstream's device_owner of VIP ports
HAPROXY, NOOP = "haproxy", "noop"
PROVIDERS = {HAPROXY: "HAProxy in a namespace per load balancer, run by the load "
                      "balancer agent of its host",
             NOOP: "Applies everything at once and runs nothing (for testing)"}
PENDING = ("PENDING_CREATE", "PENDING_UPDATE", "PENDING_DELETE")
# Which pool protocols a listener protocol takes (Octavia's compatibility table).
POOL_FOR_LISTENER = {
    "HTTP": ("HTTP", "PROXY", "PROXYV2"), "HTTPS": ("HTTPS", "PROXY", "PROXYV2", "TCP"),
    "TCP": ("HTTP", "HTTPS", "PROXY", "PROXYV2", "TCP"),
    "TERMINATED_HTTPS": ("HTTP", "PROXY", "PROXYV2"), "UDP": ("UDP",), "SCTP": ("SCTP",),
    "PROMETHEUS": ()}
# The parent each kind is created under (the body field naming it).
PARENT_FIELD = {"listener": "loadbalancer_id", "healthmonitor": "pool_id",
                "l7policy": "listener_id"}
CHILDREN = {"loadbalancer": ("listener", "pool"), "listener": ("l7policy",),
            "pool": ("member", "healthmonitor"), "l7policy": ("l7rule",),
            "member": (), "healthmonitor": (), "l7rule": ()}

Notify = Callable[[], None]


class LoadBalancingService:
    def __init__(self, deps: Deps, ports: PortService, notify_agents: Notify,
                 default_provider: str = HAPROXY,
                 quota_defaults: dict[str, int] | None = None) -> None:
        self.deps = deps
        self.ports = ports
        self.notify_agents = notify_agents
        self.default_provider = default_provider
        self.quota_defaults = quota_defaults or dict.fromkeys(res.QUOTA_RESOURCES, -1)

    # -- reads ---------------------------------------------------------------------

    def list(self, ctx: Context, kind: str, parent_id: str | None = None) -> list[dict]:
        def run(session: Session) -> list[dict]:
            if parent_id is not None:
                parent = self._get_row(session, ctx, _parent_kind(kind), parent_id)
                query = select(LB).where(LB.kind == kind, LB.parent_id == parent.id)
            else:
                query = select(LB).where(LB.kind == kind)
            if not ctx.is_admin:
                query = query.where(LB.project_id == (ctx.project_id or ""))
            rows = [Obj.of(r) for r in session.scalars(query.order_by(LB.created_at, LB.id))]
            families = self._families(session, {r.loadbalancer_id for r in rows})
            return [view(r, families[r.loadbalancer_id]) for r in rows]
        return self.deps.db.run(run, write=False)

    def get(self, ctx: Context, kind: str, object_id: str,
            parent_id: str | None = None) -> dict:
        def run(session: Session) -> dict:
            row = self._get_row(session, ctx, kind, object_id, parent_id)
            return view(row, self._families(session, {row.loadbalancer_id})[
                row.loadbalancer_id])
        return self.deps.db.run(run, write=False)

    def statuses(self, ctx: Context, lb_id: str) -> dict:
        def run(session: Session) -> dict:
            lb = self._get_row(session, ctx, "loadbalancer", lb_id)
            return status_tree(lb, self._families(session, {lb.id})[lb.id])
        return self.deps.db.run(run, write=False)

    def _get_row(self, session: Session, ctx: Context, kind: str, object_id: str,
                 parent_id: str | None = None) -> Obj:
        row = session.get(LB, object_id)
        if (row is None or row.kind != kind
                or (parent_id is not None and row.parent_id != parent_id)
                or (not ctx.is_admin and row.project_id != ctx.project_id)):
            raise res.not_found(kind, object_id)
        return Obj.of(row)

    def _families(self, session: Session, lb_ids: set[str]) -> dict[str, Family]:
        objs: dict[str, list[Obj]] = {i: [] for i in lb_ids}
        if lb_ids:
            for row in session.scalars(select(LB).where(LB.loadbalancer_id.in_(lb_ids))):
                objs[row.loadbalancer_id].append(Obj.of(row))
        return {i: Family(o) for i, o in objs.items()}

    # -- writes --------------------------------------------------------------------

    def create(self, ctx: Context, kind: str, body: Any,
               parent_id: str | None = None) -> dict:
        data = res.check_body(kind, body, create=True)
        project = data.pop("project_id", None) or ctx.project_id or ""
        if not ctx.is_admin and project != ctx.project_id:
            raise res.Forbidden("Policy does not allow this request to be performed.")
        if kind == "healthmonitor":
            data = res.check_monitor(data)
        elif kind == "l7policy":
            data = res.check_l7policy(data)
        elif kind == "l7rule":
            data = res.check_l7rule(data)
        if kind == "loadbalancer":
            return self._create_loadbalancer(ctx, project, data)
        def run(session: Session) -> tuple[dict, str, str]:
            lb, parent = self._parent_of(session, ctx, kind, data, parent_id)
            self._check_mutable(lb)
            self._check_quota(session, project, kind)
            check = getattr(self, f"_check_{kind}", None)
            if check is not None:
                check(session, lb, parent, data)
            row = self._insert(session, kind, project, lb.id, parent.id, data)
            if kind == "pool" and data.get("listener_id"):
                self._set_body(session, data["listener_id"], default_pool_id=row.id)
            self._touch_lb(session, lb.id)
            if kind == "l7policy":
                self._renumber(session, parent.id, row.id, data["position"])
            item = view(Obj.of(row), self._families(session, {lb.id})[lb.id])
            return item, lb.id, lb.body.get("provider") or self.default_provider
        item, lb_id, provider = self.deps.db.run(run)
        self._after_change(lb_id, provider)
        return item

    def update(self, ctx: Context, kind: str, object_id: str, body: Any,
               parent_id: str | None = None) -> dict:
        data = res.check_body(kind, body, create=False)

        def run(session: Session) -> tuple[dict, str, str]:
            obj = self._get_row(session, ctx, kind, object_id, parent_id)
            family = self._families(session, {obj.loadbalancer_id})[obj.loadbalancer_id]
            lb = family.by_id[obj.loadbalancer_id]
            self._check_mutable(lb)
            merged = dict(obj.body, **data)
            if kind == "healthmonitor":
                merged = res.check_monitor(merged)
            elif kind == "l7policy":
                merged = res.check_l7policy(merged)
                self._check_redirect_pool(family, merged)
            elif kind == "l7rule":
                merged = res.check_l7rule(merged)
            elif kind == "listener" and data.get("default_pool_id"):
                self._check_default_pool(family, merged, obj.id)
            row = session.get(LB, obj.id)
            assert row is not None
            row.body = json.dumps(merged)
            row.updated_at = models.utcnow()
            if kind != "loadbalancer":
                row.provisioning_status = "PENDING_UPDATE"
            self._touch_lb(session, lb.id)
            if kind == "l7policy" and "position" in data:
                self._renumber(session, obj.parent_id, obj.id, data["position"])
            session.flush()
            item = view(Obj.of(row), self._families(session, {lb.id})[lb.id])
            return item, lb.id, lb.body.get("provider") or self.default_provider
        item, lb_id, provider = self.deps.db.run(run)
        self._after_change(lb_id, provider)
        return item

    def delete(self, ctx: Context, kind: str, object_id: str, cascade: bool = False,
               parent_id: str | None = None) -> None:
        def run(session: Session) -> tuple[str, str]:
            obj = self._get_row(session, ctx, kind, object_id, parent_id)
            family = self._families(session, {obj.loadbalancer_id})[obj.loadbalancer_id]
            lb = family.by_id[obj.loadbalancer_id]
            if kind == "loadbalancer":
                if lb.provisioning_status in PENDING:
                    raise res.immutable("loadbalancer", lb.id)
                if not cascade and (family.of_kind("listener") or family.of_kind("pool")):
                    raise res.LbFault(f"Cannot delete Load Balancer {lb.id} - it has "
                                      "children")
            else:
                self._check_mutable(lb)
            doomed = _descendants(family, obj)
            for doomed_id in doomed:
                row = session.get(LB, doomed_id)
                assert row is not None
                row.provisioning_status = "PENDING_DELETE"
            if kind == "pool":   # listeners no longer use it as their default
                for listener in family.of_kind("listener"):
                    if listener.body.get("default_pool_id") == obj.id:
                        self._set_body(session, listener.id, default_pool_id=None)
            if kind != "loadbalancer":
                self._touch_lb(session, lb.id)
            else:
                self._bump(session, lb.id)
            return lb.id, lb.body.get("provider") or self.default_provider
        lb_id, provider = self.deps.db.run(run)
        self._after_change(lb_id, provider)

    def failover(self, ctx: Context, lb_id: str) -> None:
        """PUT .../failover: the agent rebuilds the load balancer from scratch."""
        def run(session: Session) -> str:
            lb = self._get_row(session, ctx, "loadbalancer", lb_id)
            if lb.provisioning_status in PENDING:
                raise res.immutable("loadbalancer", lb.id)
            self._touch_lb(session, lb.id)
            return lb.body.get("provider") or self.default_provider
        self._after_change(lb_id, self.deps.db.run(run))

    # -- the load balancer and its VIP port --------------------------------------

    def _create_loadbalancer(self, ctx: Context, project: str, data: dict) -> dict:
        provider = data["provider"] or self.default_provider
        if provider not in PROVIDERS:
            raise res.LbFault(f"Provider '{provider}' is not enabled.")
        if data["vip_port_id"] is not None:
            raise res.LbFault(f"Provider '{provider}' does not support vip_port_id: "
                              "give vip_subnet_id or vip_network_id")
        if data["vip_subnet_id"] is None and data["vip_network_id"] is None:
            raise res.LbFault("Invalid input for field/attribute vip_subnet_id. Value: "
                              "'None'. At least one of vip_subnet_id or vip_network_id "
                              "must be set.")
        ports: list[dict] = []

        def run(session: Session) -> dict:
            self._check_quota(session, project, "loadbalancer")
            subnet = self._vip_subnet(session, ctx, project, data)
            host = self._schedule(session) if provider == HAPROXY else None
            lb_id = common.new_id()
            attrs: dict = {
                "network_id": subnet.network_id, "project_id": project,
                "device_owner": VIP_OWNER, "device_id": f"lb-{lb_id}",
                "name": f"octavia-lb-{lb_id}", "admin_state_up": True,
                "fixed_ips": [{"subnet_id": subnet.id, **(
                    {"ip_address": data["vip_address"]} if data["vip_address"] else {})}],
                # The VIP answers whatever its listeners open; HAProxy's allowed_cidrs
                # restrict sources (upstream's VIP security group plays that role).
                "port_security_enabled": False}
            if host is not None:
                attrs["binding:host_id"] = host
            port = self.ports.create_internal(session, ctx, attrs)
            ports.append(port)
            address = port["fixed_ips"][0]["ip_address"]
            body = dict(data, provider=provider, vip_port_id=port["id"],
                        vip_subnet_id=subnet.id, vip_network_id=subnet.network_id,
                        vip_address=address)
            row = self._insert(session, "loadbalancer", project, lb_id, lb_id, body,
                               object_id=lb_id, host=host)
            return view(Obj.of(row), Family([Obj.of(row)]))
        item = self.deps.db.run(run)
        for port in ports:
            self.deps.events.publish("port", events.AFTER_CREATE,
                                     events.Payload(ctx, port["id"], states=(port,)))
        self._after_change(item["id"], provider)
        return item

    def _vip_subnet(self, session: Session, ctx: Context, project: str, data: dict
                    ) -> Any:
        if data["vip_subnet_id"] is not None:
            subnet = session.get(models.Subnet, data["vip_subnet_id"])
            if subnet is None or not self._usable(session, ctx, project, subnet.network_id):
                raise res.LbFault(f"Subnet {data['vip_subnet_id']} not found.", 400)
            if data["vip_network_id"] not in (None, subnet.network_id):
                raise res.LbFault("vip_subnet_id is not on vip_network_id")
            return subnet
        network_id = data["vip_network_id"]
        subnets = list(session.scalars(select(models.Subnet).where(
            models.Subnet.network_id == network_id).order_by(models.Subnet.ip_version,
                                                             models.Subnet.created_at)))
        if not subnets or not self._usable(session, ctx, project, network_id):
            raise res.LbFault(f"Network {network_id} not found or has no subnet.", 400)
        return subnets[0]

    def _usable(self, session: Session, ctx: Context, project: str, network_id: str) -> bool:
        network = session.get(models.Network, network_id)
        if network is None:
            return False
        return (ctx.is_admin or network.project_id == project
                or rbac.is_shared_with(session, "network", network_id, project))

    def _schedule(self, session: Session) -> str:
        """The alive load balancer agent with the fewest load balancers."""
        cutoff = models.utcnow() - _seconds(self.deps.conf.agent_down_time)
        hosts = list(session.scalars(select(models.Agent.host).where(
            models.Agent.agent_type == contract.AGENT_TYPE_LOADBALANCER,
            models.Agent.admin_state_up.is_(True),
            models.Agent.heartbeat_timestamp >= cutoff).order_by(models.Agent.host)))
        if not hosts:
            raise res.Unavailable("Provider 'haproxy' reports error: no load balancer "
                                  "agent is alive")
        load = dict(session.execute(select(LB.host, func.count()).where(
            LB.kind == "loadbalancer", LB.host.in_(hosts)).group_by(LB.host)).all())
        return min(hosts, key=lambda h: load.get(h, 0))

    # -- checks ------------------------------------------------------------------

    def _parent_of(self, session: Session, ctx: Context, kind: str, data: dict,
                   parent_id: str | None) -> tuple[Obj, Obj]:
        """(the load balancer, the parent) of a new object of `kind`."""
        if kind == "pool":
            if data.get("listener_id"):
                listener = self._get_row(session, ctx, "listener", data["listener_id"])
                lb = self._get_row(session, ctx, "loadbalancer", listener.loadbalancer_id)
                if data.get("loadbalancer_id") not in (None, lb.id):
                    raise res.LbFault("The listener is not on that load balancer")
                return lb, lb
            if data.get("loadbalancer_id"):
                lb = self._get_row(session, ctx, "loadbalancer", data["loadbalancer_id"])
                return lb, lb
            raise res.LbFault("Invalid input for field/attribute listener_id. Value: "
                              "'None'. Either listener_id or loadbalancer_id must be "
                              "specified.")
        if kind in ("member", "l7rule"):
            assert parent_id is not None
            parent = self._get_row(session, ctx, _parent_kind(kind), parent_id)
        else:
            parent = self._get_row(session, ctx, _parent_kind(kind), data[PARENT_FIELD[kind]])
        lb = parent if parent.kind == "loadbalancer" else self._get_row(
            session, ctx, "loadbalancer", parent.loadbalancer_id)
        return lb, parent

    def _check_mutable(self, lb: Obj) -> None:
        if lb.provisioning_status != "ACTIVE":
            raise res.immutable("loadbalancer", lb.id)

    def _check_listener(self, session: Session, lb: Obj, parent: Obj, data: dict) -> None:
        family = self._families(session, {lb.id})[lb.id]
        for other in family.of_kind("listener"):
            if other.body["protocol_port"] == data["protocol_port"] and \
                    _l4(other.body["protocol"]) == _l4(data["protocol"]):
                raise res.Conflict("Another Listener on this Load Balancer is already "
                                   f"using protocol_port {data['protocol_port']}")
        if data["protocol"] in ("HTTPS", "TERMINATED_HTTPS", "PROMETHEUS", "SCTP"):
            raise res.LbFault(f"Provider 'haproxy' does not support protocol "
                              f"{data['protocol']} listeners")
        if data.get("default_pool_id"):
            self._check_default_pool(family, data, None)

    def _check_default_pool(self, family: Family, listener: dict, listener_id: str | None
                            ) -> None:
        pool = family.by_id.get(listener["default_pool_id"])
        if pool is None or pool.kind != "pool":
            raise res.not_found("pool", listener["default_pool_id"])
        if pool.body["protocol"] not in POOL_FOR_LISTENER[listener["protocol"]]:
            raise res.LbFault(f"The pool protocol '{pool.body['protocol']}' is invalid "
                              f"while the listener protocol is '{listener['protocol']}'.")

    def _check_pool(self, session: Session, lb: Obj, parent: Obj, data: dict) -> None:
        if data.get("listener_id"):
            listener = Obj.of(session.get(LB, data["listener_id"]))
            if listener.body.get("default_pool_id"):
                raise res.Conflict(f"Listener {listener.id} already has a default pool")
            if data["protocol"] not in POOL_FOR_LISTENER[listener.body["protocol"]]:
                raise res.LbFault(f"The pool protocol '{data['protocol']}' is invalid "
                                  f"while the listener protocol is "
                                  f"'{listener.body['protocol']}'.")
        if data["protocol"] in ("HTTPS", "UDP", "SCTP") or data["tls_enabled"]:
            raise res.LbFault(f"Provider 'haproxy' does not support protocol "
                              f"{data['protocol']} pools")
        if data["lb_algorithm"] == "SOURCE_IP_PORT":
            raise res.LbFault("Provider 'haproxy' does not support lb_algorithm "
                              "SOURCE_IP_PORT")
        data.pop("loadbalancer_id", None)

    def _check_member(self, session: Session, lb: Obj, parent: Obj, data: dict) -> None:
        family = self._families(session, {lb.id})[lb.id]
        for other in family.of_kind("member", parent.id):
            if (other.body["address"], other.body["protocol_port"]) == \
                    (data["address"], data["protocol_port"]) and \
                    other.provisioning_status != "PENDING_DELETE":
                raise res.Conflict(f"Another member on this pool is already using ip "
                                   f"{data['address']} on protocol_port "
                                   f"{data['protocol_port']}")
        if data.get("subnet_id") and session.get(models.Subnet, data["subnet_id"]) is None:
            raise res.LbFault(f"Subnet {data['subnet_id']} not found.")

    def _check_healthmonitor(self, session: Session, lb: Obj, parent: Obj, data: dict
                             ) -> None:
        family = self._families(session, {lb.id})[lb.id]
        if family.monitor_of(parent.id) is not None:
            raise res.Conflict(f"Pool {parent.id} already has a health monitor")
        if data["type"] in ("HTTPS", "PING", "TLS-HELLO", "UDP-CONNECT", "SCTP"):
            raise res.LbFault(f"Provider 'haproxy' does not support health monitor type "
                              f"{data['type']}")

    def _check_l7policy(self, session: Session, lb: Obj, parent: Obj, data: dict) -> None:
        if parent.body["protocol"] not in ("HTTP", "TERMINATED_HTTPS"):
            raise res.LbFault("L7 policies are only valid on HTTP and TERMINATED_HTTPS "
                              "listeners")
        self._check_redirect_pool(self._families(session, {lb.id})[lb.id], data)

    def _check_redirect_pool(self, family: Family, policy: dict) -> None:
        pool_id = policy.get("redirect_pool_id")
        if pool_id and (pool_id not in family.by_id or family.by_id[pool_id].kind != "pool"):
            raise res.not_found("pool", pool_id)

    def _check_quota(self, session: Session, project: str, kind: str) -> None:
        resource = res.QUOTA_OF[kind]
        limit = self._limits(session, project)[resource]
        if limit < 0:
            return
        used = session.scalar(select(func.count()).select_from(LB).where(
            LB.kind == kind, LB.project_id == project)) or 0
        if used >= limit:
            raise res.Forbidden("Quota has been met for resources: "
                                f"{res.NOT_FOUND_NAMES[kind]}")

    # -- rows --------------------------------------------------------------------

    def _insert(self, session: Session, kind: str, project: str, lb_id: str,
                parent_id: str, body: dict, object_id: str | None = None,
                host: str | None = None) -> Any:
        row = LB(id=object_id or common.new_id(), kind=kind, project_id=project,
                loadbalancer_id=lb_id, parent_id=parent_id,
                provisioning_status="PENDING_CREATE", operating_status="OFFLINE",
                host=host, revision=0, body=json.dumps(body), created_at=models.utcnow(),
                updated_at=None)
        session.add(row)
        session.flush()
        return row

    def _set_body(self, session: Session, object_id: str, **values: Any) -> None:
        row = session.get(LB, object_id)
        assert row is not None
        row.body = json.dumps(dict(json.loads(row.body), **values))

    def _touch_lb(self, session: Session, lb_id: str) -> None:
        row = session.get(LB, lb_id)
        assert row is not None
        row.provisioning_status = "PENDING_UPDATE"
        row.revision += 1

    def _bump(self, session: Session, lb_id: str) -> None:
        row = session.get(LB, lb_id)
        assert row is not None
        row.revision += 1

    def _renumber(self, session: Session, listener_id: str, policy_id: str,
                  position: int) -> None:
        """Positions 1..n in order, the policy at `position` (Octavia's)."""
        rows = sorted((r for r in session.scalars(select(LB).where(
            LB.kind == "l7policy", LB.parent_id == listener_id)) if r.id != policy_id),
            key=lambda r: json.loads(r.body)["position"])
        moved = session.get(LB, policy_id)
        assert moved is not None
        rows.insert(min(position, len(rows) + 1) - 1, moved)
        for number, row in enumerate(rows, start=1):
            row.body = json.dumps(dict(json.loads(row.body), position=number))

    def _after_change(self, lb_id: str, provider: str) -> None:
        if provider == NOOP:
            self.apply_report(None, [{"loadbalancer_id": lb_id, "revision": -1,
                                      "error": None, "members": {}}])
        else:
            self.notify_agents()

    # -- the agent's side --------------------------------------------------------

    def desired_state(self, host: str) -> contract.LbaasState:
        def run(session: Session) -> contract.LbaasState:
            rows = [Obj.of(r) for r in session.scalars(select(LB).where(
                LB.kind == "loadbalancer", LB.host == host).order_by(LB.id))]
            lbs = [lb for lb in rows if lb.provisioning_status != "PENDING_DELETE"]
            families = self._families(session, {lb.id for lb in lbs})
            return {"host": host, "loadbalancers": [
                desired(lb, families[lb.id], self._vip(session, lb)) for lb in lbs],
                "deleting": [{"id": lb.id, "revision": lb.revision} for lb in rows
                             if lb.provisioning_status == "PENDING_DELETE"]}
        return self.deps.db.run(run, write=False)

    def _vip(self, session: Session, lb: Obj) -> dict:
        port = session.get(models.Port, lb.body["vip_port_id"])
        subnet = session.get(models.Subnet, lb.body["vip_subnet_id"])
        network = session.get(models.Network, lb.body["vip_network_id"])
        return {"mac": port.mac_address if port is not None else "",
                "prefixlen": int(subnet.cidr.split("/")[1]) if subnet is not None else 32,
                "gateway_ip": subnet.gateway_ip if subnet is not None else None,
                "mtu": network.mtu if network is not None else None}

    def apply_report(self, host: str | None, reports: list[contract.LbStatusReport]
                     ) -> None:
        """The agent's reports (`host` None: the noop provider's)."""
        ports: list[str] = []

        def run(session: Session) -> None:
            for report in reports:
                ports.extend(self._apply(session, host, report))
        self.deps.db.run(run)
        for port_id in ports:
            self.deps.events.publish("port", events.AFTER_DELETE,
                                     events.Payload(Context.admin(), port_id, metadata={}))

    def _apply(self, session: Session, host: str | None, report: contract.LbStatusReport
               ) -> list[str]:
        lb_row = session.get(LB, report["loadbalancer_id"], with_for_update=True)
        if lb_row is None or lb_row.kind != "loadbalancer" or (
                host is not None and lb_row.host != host):
            return []
        rows = list(session.scalars(select(LB).where(LB.loadbalancer_id == lb_row.id)))
        current = report["revision"] in (-1, lb_row.revision)
        if current and lb_row.provisioning_status == "PENDING_DELETE":
            port_id = json.loads(lb_row.body)["vip_port_id"]
            for row in rows:
                session.delete(row)
            session.flush()
            if session.get(models.Port, port_id) is not None:
                self.ports.delete_internal(session, Context.admin(), port_id)
                return [port_id]
            return []
        if current:
            for row in rows:
                if row.provisioning_status == "PENDING_DELETE":
                    session.delete(row)
                elif row.provisioning_status in PENDING or row.id == lb_row.id:
                    row.provisioning_status = "ERROR" if report["error"] else "ACTIVE"
            session.flush()
            rows = [r for r in rows if r in session]
        family = Family(Obj.of(r) for r in rows)
        states = operating(family, Obj.of(lb_row), report["members"])
        for row in rows:
            if row.id in states and row.provisioning_status != "PENDING_DELETE":
                row.operating_status = ("ERROR" if current and report["error"]
                                        else states[row.id])
        return []

    # -- quotas ------------------------------------------------------------------

    def _limits(self, session: Session, project: str) -> dict[str, int]:
        limits = dict(self.quota_defaults)
        for row in session.scalars(select(models.LbQuota).where(
                models.LbQuota.project_id == project)):
            limits[row.resource] = row.hard_limit
        return limits

    def quota(self, project: str) -> dict[str, int]:
        return self.deps.db.run(lambda s: self._limits(s, project), write=False)

    def quotas(self) -> list[dict]:
        def run(session: Session) -> list[dict]:
            projects = sorted(set(session.scalars(select(models.LbQuota.project_id))))
            return [dict(self._limits(session, p), project_id=p) for p in projects]
        return self.deps.db.run(run, write=False)

    def set_quota(self, project: str, values: dict[str, int]) -> dict[str, int]:
        def run(session: Session) -> dict[str, int]:
            for resource, limit in values.items():
                row = session.get(models.LbQuota, (project, resource))
                if row is None:
                    session.add(models.LbQuota(project_id=project, resource=resource,
                                               hard_limit=limit))
                else:
                    row.hard_limit = limit
            session.flush()
            return self._limits(session, project)
        return self.deps.db.run(run)

    def reset_quota(self, project: str) -> None:
        def run(session: Session) -> None:
            for row in session.scalars(select(models.LbQuota).where(
                    models.LbQuota.project_id == project)):
                session.delete(row)
        self.deps.db.run(run)


def _parent_kind(kind: str) -> str:
    return {"listener": "loadbalancer", "pool": "loadbalancer", "member": "pool",
            "healthmonitor": "pool", "l7policy": "listener", "l7rule": "l7policy"}[kind]


def _descendants(family: Family, obj: Obj) -> list[str]:
    if obj.kind == "loadbalancer":
        return list(family.by_id)
    out = [obj.id]
    for child_kind in CHILDREN[obj.kind]:
        for child in family.of_kind(child_kind, obj.id):
            out += _descendants(family, child)
    return out


def _l4(protocol: str) -> str:
    return {"UDP": "UDP", "SCTP": "SCTP"}.get(protocol, "TCP")


def _seconds(value: int) -> dt.timedelta:
    return dt.timedelta(seconds=value)

