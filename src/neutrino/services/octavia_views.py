"""Load balancing (issue 16): how the stored objects of one load balancer look
through the API (each kind's dict, the status tree) and to the agent (its
desired state). Pure functions over `Obj`s: the service reads the rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from neutrino.contract import lbaas as contract

TIME = "%Y-%m-%dT%H:%M:%S"


@dataclass
class Obj:
    """One stored object: its columns and its fields (the JSON body)."""

    id: str
    kind: str
    project_id: str
    loadbalancer_id: str
    parent_id: str
    provisioning_status: str
    operating_status: str
    host: str | None
    revision: int
    body: dict
    created_at: Any = None
    updated_at: Any = None

    @classmethod
    def of(cls, row: Any) -> Obj:
        return cls(row.id, row.kind, row.project_id, row.loadbalancer_id, row.parent_id,
                   row.provisioning_status, row.operating_status, row.host, row.revision,
                   json.loads(row.body), row.created_at, row.updated_at)


class Family:
    """The objects of load balancers, indexed for the relations the API shows."""

    def __init__(self, objs: Iterable[Obj]) -> None:
        self.by_id = {o.id: o for o in objs}

    def of_kind(self, kind: str, parent_id: str | None = None) -> list[Obj]:
        return sorted((o for o in self.by_id.values() if o.kind == kind
                       and (parent_id is None or o.parent_id == parent_id)),
                      key=lambda o: (o.created_at or 0, o.id))

    def listeners_of_pool(self, pool_id: str) -> list[Obj]:
        return [o for o in self.of_kind("listener")
                if o.body.get("default_pool_id") == pool_id
                or any(p.body.get("redirect_pool_id") == pool_id
                       for p in self.of_kind("l7policy", o.id))]

    def monitor_of(self, pool_id: str) -> Obj | None:
        found = self.of_kind("healthmonitor", pool_id)
        return found[0] if found else None

    def policies(self, listener_id: str) -> list[Obj]:
        return sorted(self.of_kind("l7policy", listener_id),
                      key=lambda o: o.body["position"])


def _ids(objs: Iterable[Obj]) -> list[dict]:
    return [{"id": o.id} for o in objs]


def _time(value: Any) -> str | None:
    return value.strftime(TIME) if value is not None else None


def view(obj: Obj, family: Family) -> dict:
    """The object as the API shows it (Octavia's fields, relations as [{"id"}])."""
    out = dict(obj.body)
    out.update(id=obj.id, project_id=obj.project_id, tenant_id=obj.project_id,
               provisioning_status=obj.provisioning_status,
               operating_status=obj.operating_status,
               created_at=_time(obj.created_at), updated_at=_time(obj.updated_at))
    lb = [{"id": obj.loadbalancer_id}]
    if obj.kind == "loadbalancer":
        out.update(listeners=_ids(family.of_kind("listener")),
                   pools=_ids(family.of_kind("pool")))
    elif obj.kind == "listener":
        out.update(loadbalancers=lb, l7policies=_ids(family.policies(obj.id)))
    elif obj.kind == "pool":
        monitor = family.monitor_of(obj.id)
        out.update(loadbalancers=lb, listeners=_ids(family.listeners_of_pool(obj.id)),
                   members=_ids(family.of_kind("member", obj.id)),
                   healthmonitor_id=monitor.id if monitor else None)
        out.pop("listener_id", None)
        out.pop("loadbalancer_id", None)
    elif obj.kind == "healthmonitor":
        out.update(pools=[{"id": obj.parent_id}])
        out.pop("pool_id", None)
    elif obj.kind == "l7policy":
        out.update(rules=_ids(family.of_kind("l7rule", obj.id)))
    elif obj.kind == "member":
        out.pop("pool_id", None)
    return out


def status_tree(lb: Obj, family: Family) -> dict:
    """GET /v2/lbaas/loadbalancers/{id}/status (Octavia's statuses tree)."""
    def status(o: Obj, **more: Any) -> dict:
        return {"id": o.id, "name": o.body.get("name", ""),
                "provisioning_status": o.provisioning_status,
                "operating_status": o.operating_status, **more}

    def pool(p: Obj) -> dict:
        monitor = family.monitor_of(p.id)
        more: dict = {"members": [
            status(m, address=m.body["address"], protocol_port=m.body["protocol_port"])
            for m in family.of_kind("member", p.id)]}
        if monitor is not None:
            more["health_monitor"] = status(monitor, type=monitor.body["type"])
        return status(p, **more)

    listeners = []
    for listener in family.of_kind("listener"):
        pools = [family.by_id[pid] for pid in _listener_pool_ids(listener, family)]
        listeners.append(status(listener, pools=[pool(p) for p in pools]))
    return {"statuses": {"loadbalancer": status(lb, listeners=listeners)}}


def _listener_pool_ids(listener: Obj, family: Family) -> list[str]:
    ids = [listener.body.get("default_pool_id")]
    ids += [p.body.get("redirect_pool_id") for p in family.policies(listener.id)]
    seen: list[str] = []
    for pid in ids:
        if pid and pid in family.by_id and pid not in seen:
            seen.append(pid)
    return seen


# -- the agent's desired state ------------------------------------------------------

LIVE = ("PENDING_CREATE", "PENDING_UPDATE", "ACTIVE", "ERROR")


def _live(objs: Iterable[Obj]) -> list[Obj]:
    return [o for o in objs if o.provisioning_status in LIVE]


def desired(lb: Obj, family: Family, vip: dict) -> contract.LbLoadBalancer:
    """What the agent makes of `lb`; `vip` holds the VIP port's mac, prefixlen,
    gateway_ip and mtu (read from the port and its subnet)."""
    def monitor(pool_id: str) -> contract.LbHealthMonitor | None:
        found = _live(family.of_kind("healthmonitor", pool_id))
        if not found:
            return None
        b = found[0].body
        return {"id": found[0].id, "type": b["type"], "delay": b["delay"],
                "timeout": b["timeout"], "max_retries": b["max_retries"],
                "max_retries_down": b["max_retries_down"],
                "http_method": b.get("http_method"), "url_path": b.get("url_path"),
                "expected_codes": b.get("expected_codes"),
                "admin_state_up": b["admin_state_up"]}

    def member(m: Obj) -> contract.LbMember:
        b = m.body
        return {"id": m.id, "address": b["address"], "protocol_port": b["protocol_port"],
                "weight": b["weight"], "backup": b["backup"],
                "admin_state_up": b["admin_state_up"],
                "monitor_address": b.get("monitor_address"),
                "monitor_port": b.get("monitor_port")}

    def pool(p: Obj) -> contract.LbPool:
        b = p.body
        return {"id": p.id, "protocol": b["protocol"], "lb_algorithm": b["lb_algorithm"],
                "admin_state_up": b["admin_state_up"],
                "session_persistence": b.get("session_persistence"),
                "members": [member(m) for m in _live(family.of_kind("member", p.id))],
                "healthmonitor": monitor(p.id)}

    def rule(r: Obj) -> contract.LbL7Rule:
        b = r.body
        return {"id": r.id, "type": b["type"], "compare_type": b["compare_type"],
                "key": b.get("key"), "value": b["value"], "invert": b["invert"],
                "admin_state_up": b["admin_state_up"]}

    def policy(p: Obj) -> contract.LbL7Policy:
        b = p.body
        return {"id": p.id, "action": b["action"], "position": b["position"],
                "redirect_pool_id": b.get("redirect_pool_id"),
                "redirect_url": b.get("redirect_url"),
                "redirect_prefix": b.get("redirect_prefix"),
                "redirect_http_code": b.get("redirect_http_code"),
                "admin_state_up": b["admin_state_up"],
                "rules": [rule(r) for r in _live(family.of_kind("l7rule", p.id))]}

    def listener(li: Obj) -> contract.LbListener:
        b = li.body
        return {"id": li.id, "protocol": b["protocol"], "protocol_port": b["protocol_port"],
                "connection_limit": b["connection_limit"],
                "default_pool_id": b.get("default_pool_id"),
                "admin_state_up": b["admin_state_up"],
                "timeout_client_data": b["timeout_client_data"],
                "timeout_member_connect": b["timeout_member_connect"],
                "timeout_member_data": b["timeout_member_data"],
                "insert_headers": b.get("insert_headers") or {},
                "allowed_cidrs": b.get("allowed_cidrs") or [],
                "l7policies": [policy(p) for p in _live(family.policies(li.id))]}

    return {"id": lb.id, "revision": lb.revision,
            "admin_state_up": lb.body["admin_state_up"],
            "vip_port_id": lb.body["vip_port_id"], "vip_address": lb.body["vip_address"],
            "vip_mac": vip["mac"], "vip_prefixlen": vip["prefixlen"],
            "gateway_ip": vip["gateway_ip"], "mtu": vip["mtu"],
            "listeners": [listener(li) for li in _live(family.of_kind("listener"))],
            "pools": [pool(p) for p in _live(family.of_kind("pool"))]}


# -- statuses once applied ----------------------------------------------------------

def operating(family: Family, lb: Obj, members: dict[str, str]) -> dict[str, str]:
    """Each object's operating status once `lb` runs, `members` being the agent's
    view of its members (missing: NO_MONITOR when the pool has no health monitor,
    OFFLINE otherwise). A pool is ONLINE with all its members up, DEGRADED with
    some, ERROR with none."""
    out: dict[str, str] = {}
    up = lb.body["admin_state_up"]
    out[lb.id] = "ONLINE" if up else "OFFLINE"
    for pool in family.of_kind("pool"):
        monitor = family.monitor_of(pool.id)
        states = []
        for m in family.of_kind("member", pool.id):
            if not m.body["admin_state_up"] or not up:
                state = "OFFLINE"
            else:
                state = members.get(m.id, "NO_MONITOR" if monitor is None else "OFFLINE")
            out[m.id] = state
            states.append(state)
        if monitor is not None:
            out[monitor.id] = "ONLINE" if up and monitor.body["admin_state_up"] else "OFFLINE"
        if not up or not pool.body["admin_state_up"]:
            out[pool.id] = "OFFLINE"
        elif states and all(s == "ERROR" for s in states):
            out[pool.id] = "ERROR"
        elif any(s == "ERROR" for s in states):
            out[pool.id] = "DEGRADED"
        else:
            out[pool.id] = "ONLINE"
    for kind in ("listener", "l7policy", "l7rule"):
        for o in family.of_kind(kind):
            out[o.id] = "ONLINE" if up and o.body["admin_state_up"] else "OFFLINE"
    if up and any(out.get(p.id) in ("ERROR", "DEGRADED") for p in family.of_kind("pool")):
        out[lb.id] = "DEGRADED"
    return out
