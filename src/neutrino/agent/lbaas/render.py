"""A load balancer's HAProxy configuration, rendered purely from its desired state.

::

    global      stats socket (the agent reads members' health there)
    defaults    timeouts
    frontend <listener id>      bind <vip>:<port>, mode http|tcp, maxconn,
                                allowed_cidrs, L7 policies, default_backend
    backend <pool id>           balance, persistence, health check,
                                server <member id> <address>:<port> weight … check

Every name is an object's id, so the stats socket's lines map back to members.
Disabled objects (admin_state_up false) are left out (a member: ``disabled``).
A load balancer with no enabled listener renders None: HAProxy refuses to run
without one, so the agent stops it instead.
"""

from __future__ import annotations

from neutrino.contract.lbaas import (
    LbHealthMonitor,
    LbL7Policy,
    LbL7Rule,
    LbListener,
    LbLoadBalancer,
    LbMember,
    LbPool,
)

ALGORITHMS = {"ROUND_ROBIN": "roundrobin", "LEAST_CONNECTIONS": "leastconn",
              "SOURCE_IP": "source"}
HTTP_MODES = ("HTTP", "TERMINATED_HTTPS")


def render(lb: LbLoadBalancer, stats_socket: str) -> str | None:
    listeners = [li for li in lb["listeners"] if li["admin_state_up"]]
    if not lb["admin_state_up"] or not listeners:
        return None
    pools = {p["id"]: p for p in lb["pools"] if p["admin_state_up"]}
    # The pid file is given on the command line (-p), which a reload needs too; a
    # modest maxconn keeps HAProxy within the host's file descriptor limit.
    lines = ["global", "    daemon",
             f"    stats socket {stats_socket} mode 600 level admin", "    maxconn 4096",
             "", "defaults", "    retries 3", "    option redispatch",
             "    timeout connect 5000", "    timeout client 50000",
             "    timeout server 50000", ""]
    for listener in sorted(listeners, key=lambda li: li["protocol_port"]):
        lines += frontend(lb, listener, pools)
    used = {pid for li in listeners for pid in _pools_of(li) if pid in pools}
    for pool_id in sorted(used):
        listener = next(li for li in listeners if pool_id in _pools_of(li))
        lines += backend(pools[pool_id], listener)
    return "\n".join(lines) + "\n"


def _pools_of(listener: LbListener) -> list[str]:
    ids = [listener["default_pool_id"]] if listener["default_pool_id"] else []
    return ids + [p["redirect_pool_id"] for p in listener["l7policies"]
                  if p["redirect_pool_id"] and p["admin_state_up"]]


def _mode(protocol: str) -> str:
    return "http" if protocol in HTTP_MODES else "tcp"


def frontend(lb: LbLoadBalancer, listener: LbListener, pools: dict[str, LbPool]
             ) -> list[str]:
    address = lb["vip_address"]
    bind = f"[{address}]" if ":" in address else address
    out = [f"frontend {listener['id']}", f"    mode {_mode(listener['protocol'])}",
           f"    bind {bind}:{listener['protocol_port']}",
           f"    timeout client {listener['timeout_client_data']}"]
    if listener["connection_limit"] >= 0:
        out.append(f"    maxconn {listener['connection_limit']}")
    if listener["allowed_cidrs"]:
        out.append(f"    acl allowed_cidr src {' '.join(listener['allowed_cidrs'])}")
        out.append("    tcp-request connection reject unless allowed_cidr")
    if _mode(listener["protocol"]) == "http":
        if listener["insert_headers"].get("X-Forwarded-For", "").lower() == "true":
            out.append("    option forwardfor")
        if listener["insert_headers"].get("X-Forwarded-Port", "").lower() == "true":
            out.append(f"    http-request set-header X-Forwarded-Port "
                       f"{listener['protocol_port']}")
        for policy in sorted(listener["l7policies"], key=lambda p: p["position"]):
            out += l7policy(policy, pools)
    if listener["default_pool_id"] in pools:
        out.append(f"    default_backend {listener['default_pool_id']}")
    return out + [""]


# -- L7 -------------------------------------------------------------------------------

def _fetch(rule: LbL7Rule) -> str:
    kind = rule["type"]
    if kind == "HOST_NAME":
        return "req.hdr(host),field(1,:)"
    if kind == "PATH":
        return "path"
    if kind == "FILE_TYPE":
        return "path,field(-1,.)" if rule["compare_type"] != "REGEX" else "path"
    if kind == "HEADER":
        return f"req.hdr({rule['key']})"
    if kind == "COOKIE":
        return f"req.cook({rule['key']})"
    return "ssl_c_used"   # SSL_* rules: no TLS here, they never match


MATCH = {"REGEX": "-m reg", "STARTS_WITH": "-m beg", "ENDS_WITH": "-m end",
         "CONTAINS": "-m sub", "EQUAL_TO": "-m str"}


def l7rule_acl(rule: LbL7Rule) -> str:
    value = rule["value"].replace("\\", "\\\\").replace(" ", "\\ ")
    if rule["type"] == "FILE_TYPE" and rule["compare_type"] == "REGEX":
        return f"acl {_acl_name(rule)} path -m reg \\.{value}$"
    return f"acl {_acl_name(rule)} {_fetch(rule)} {MATCH[rule['compare_type']]} {value}"


def _acl_name(rule: LbL7Rule) -> str:
    return f"rule_{rule['id']}"


def l7policy(policy: LbL7Policy, pools: dict[str, LbPool]) -> list[str]:
    """A policy applies when all its enabled rules match (Octavia's semantics)."""
    rules = [r for r in policy["rules"] if r["admin_state_up"]]
    if not policy["admin_state_up"] or not rules:
        return []
    out = [f"    {l7rule_acl(r)}" for r in rules]
    condition = " ".join(("!" if r["invert"] else "") + _acl_name(r) for r in rules)
    action = policy["action"]
    if action == "REJECT":
        out.append(f"    http-request deny if {condition}")
    elif action == "REDIRECT_TO_URL":
        out.append(f"    redirect code {policy['redirect_http_code']} location "
                   f"{policy['redirect_url']} if {condition}")
    elif action == "REDIRECT_PREFIX":
        out.append(f"    redirect code {policy['redirect_http_code']} prefix "
                   f"{policy['redirect_prefix']} if {condition}")
    elif policy["redirect_pool_id"] in pools:
        out.append(f"    use_backend {policy['redirect_pool_id']} if {condition}")
    return out


# -- backends -----------------------------------------------------------------------

def backend(pool: LbPool, listener: LbListener) -> list[str]:
    out = [f"backend {pool['id']}", f"    mode {_mode(pool['protocol'])}",
           f"    balance {ALGORITHMS.get(pool['lb_algorithm'], 'roundrobin')}",
           f"    timeout connect {listener['timeout_member_connect']}",
           f"    timeout server {listener['timeout_member_data']}"]
    persistence = pool["session_persistence"] or {}
    if persistence.get("type") == "SOURCE_IP":
        out += ["    stick-table type ip size 10k", "    stick on src"]
    elif persistence.get("type") == "HTTP_COOKIE" and _mode(pool["protocol"]) == "http":
        out.append("    cookie SRV insert indirect nocache")
    elif persistence.get("type") == "APP_COOKIE" and _mode(pool["protocol"]) == "http":
        name = persistence["cookie_name"]
        out += ["    stick-table type string len 64 size 10k",
                f"    stick store-response res.cook({name})",
                f"    stick match req.cook({name})"]
    monitor = pool["healthmonitor"]
    checking = monitor is not None and monitor["admin_state_up"]
    if checking:
        assert monitor is not None
        out += health_check(monitor)
    cookie = persistence.get("type") == "HTTP_COOKIE" and _mode(pool["protocol"]) == "http"
    for member in pool["members"]:
        out.append("    " + server(member, monitor if checking else None, cookie))
    return out + [""]


def health_check(monitor: LbHealthMonitor) -> list[str]:
    out = [f"    timeout check {monitor['timeout']}s"]
    if monitor["type"] in ("HTTP", "HTTPS"):
        out.append(f"    option httpchk {monitor['http_method']} {monitor['url_path']}")
        out.append(f"    http-check expect rstatus {_codes(monitor['expected_codes'] or '200')}")
    return out


def _codes(expected: str) -> str:
    """Octavia's expected_codes ("200", "200,202", "200-204") as a regex."""
    if "-" in expected:
        low, high = (int(x) for x in expected.split("-"))
        return "(" + "|".join(str(c) for c in range(low, high + 1)) + ")"
    return "(" + "|".join(c.strip() for c in expected.split(",")) + ")"


def server(member: LbMember, monitor: LbHealthMonitor | None, cookie: bool) -> str:
    address = member["address"]
    target = f"[{address}]" if ":" in address else address
    words = [f"server {member['id']} {target}:{member['protocol_port']}",
             f"weight {member['weight']}"]
    if monitor is not None:
        words.append(f"check inter {monitor['delay']}s fall {monitor['max_retries_down']} "
                     f"rise {monitor['max_retries']}")
        if member["monitor_address"]:
            words.append(f"addr {member['monitor_address']}")
        if member["monitor_port"]:
            words.append(f"port {member['monitor_port']}")
    if cookie:
        words.append(f"cookie {member['id']}")
    if member["backup"]:
        words.append("backup")
    if not member["admin_state_up"]:
        words.append("disabled")
    return " ".join(words)
