"""Load balancing (issue 16): the Octavia v2 API's objects as data.

Each kind lists its fields: how a value is checked, its default, whether a create
(POST) or an update (PUT) may set it. Checks, defaults and the errors' wording
follow Octavia's API reference; errors are Octavia's, not Neutron's
(``{"faultcode", "faultstring", "debuginfo"}``, api/octavia.py renders them).
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class LbFault(Exception):
    """An Octavia error: HTTP status and faultstring."""

    code = 400
    faultcode = "Client"

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class NotFound(LbFault):
    code = 404


class Conflict(LbFault):
    code = 409


class Forbidden(LbFault):
    code = 403


class Unavailable(LbFault):
    code = 503
    faultcode = "Server"


NOT_FOUND_NAMES = {"loadbalancer": "Load Balancer", "listener": "Listener", "pool": "Pool",
                   "member": "Member", "healthmonitor": "Health Monitor",
                   "l7policy": "L7 Policy", "l7rule": "L7 Rule"}


def not_found(kind: str, object_id: str) -> NotFound:
    return NotFound(f"{NOT_FOUND_NAMES[kind]} {object_id} could not be found.")


def immutable(kind: str, object_id: str) -> Conflict:
    return Conflict(f"{NOT_FOUND_NAMES[kind]} {object_id} is immutable and cannot be "
                    "updated.")


# -- value checks: each returns the value (maybe converted) or raises ValueError ----

Check = Callable[[Any], Any]


def text(limit: int) -> Check:
    def check(value: Any) -> Any:
        if not isinstance(value, str) or len(value) > limit:
            raise ValueError(f"Value should be a string of at most {limit} characters")
        return value
    return check


def integer(low: int, high: int) -> Check:
    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"Value should be an integer between {low} and {high}")
        return value
    return check


def boolean(value: Any) -> Any:
    if not isinstance(value, bool):
        raise ValueError("Value should be a boolean")
    return value


def one_of(*choices: str) -> Check:
    def check(value: Any) -> Any:
        if value not in choices:
            raise ValueError(f"Value should be one of: {', '.join(choices)}")
        return value
    return check


def an_uuid(value: Any) -> Any:
    try:
        return str(uuid.UUID(str(value))) if isinstance(value, str) else _bad_uuid()
    except ValueError:
        return _bad_uuid()


def _bad_uuid() -> Any:
    raise ValueError("Value should be UUID format")


def ip_address(value: Any) -> Any:
    try:
        return str(ipaddress.ip_address(value))
    except (TypeError, ValueError):
        raise ValueError("Value should be IPv4 or IPv6 format") from None


def list_of(check: Check) -> Check:
    def each(value: Any) -> Any:
        if not isinstance(value, list):
            raise ValueError("Value should be a list")
        return [check(v) for v in value]
    return each


def cidr(value: Any) -> Any:
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except (TypeError, ValueError):
        raise ValueError("Value should be a valid CIDR") from None


def string_dict(value: Any) -> Any:
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValueError("Value should be a dictionary of strings")
    return value


def nullable(check: Check) -> Check:
    def maybe(value: Any) -> Any:
        return None if value is None else check(value)
    return maybe


EXPECTED_CODES = re.compile(r"^(\d{3}(\s*,\s*\d{3})*)$|^(\d{3}-\d{3})$")
URL_PATH = re.compile(r"^/[^\s]*$")


def expected_codes(value: Any) -> Any:
    if not isinstance(value, str) or not EXPECTED_CODES.match(value):
        raise ValueError("Value should be a HTTP status code, a list (200,202) or a "
                         "range (200-204)")
    return value


def url_path(value: Any) -> Any:
    if not isinstance(value, str) or not URL_PATH.match(value):
        raise ValueError("Value should be a URL path starting with /")
    return value


def http_version(value: Any) -> Any:
    if value not in (1.0, 1.1) or isinstance(value, bool):
        raise ValueError("Value should be one of: 1.0, 1.1")
    return float(value)


def session_persistence(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"type", "cookie_name",
                                                   "persistence_timeout",
                                                   "persistence_granularity"}:
        raise ValueError("Value should be a session persistence object")
    one_of("SOURCE_IP", "HTTP_COOKIE", "APP_COOKIE")(value.get("type"))
    if value["type"] == "APP_COOKIE" and not value.get("cookie_name"):
        raise ValueError("Field cookie_name is required for APP_COOKIE persistence")
    if value["type"] != "APP_COOKIE" and value.get("cookie_name"):
        raise ValueError(f"Field cookie_name must not be set for {value['type']}")
    return {"type": value["type"], "cookie_name": value.get("cookie_name"),
            "persistence_timeout": value.get("persistence_timeout"),
            "persistence_granularity": value.get("persistence_granularity")}


# -- the kinds -----------------------------------------------------------------------

REQUIRED = object()   # a create must give it


@dataclass(frozen=True)
class Field:
    check: Check
    default: Any = None          # REQUIRED: must be given on create
    post: bool = True
    put: bool = True


NAME, DESCRIPTION = Field(text(255), ""), Field(text(255), "")
ADMIN_STATE = Field(boolean, True)
TAGS = Field(list_of(text(255)), [])
PROJECT = Field(text(255), None, put=False)
TIMEOUT_MS = integer(0, 31536000000)

LISTENER_PROTOCOLS = ("HTTP", "HTTPS", "TCP", "TERMINATED_HTTPS", "UDP", "SCTP",
                      "PROMETHEUS")
POOL_PROTOCOLS = ("HTTP", "HTTPS", "PROXY", "PROXYV2", "TCP", "UDP", "SCTP")
ALGORITHMS = ("ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP", "SOURCE_IP_PORT")
MONITOR_TYPES = ("HTTP", "HTTPS", "PING", "TCP", "TLS-HELLO", "UDP-CONNECT", "SCTP")
HTTP_METHODS = ("CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT",
                "TRACE")
L7_ACTIONS = ("REDIRECT_TO_POOL", "REDIRECT_TO_URL", "REDIRECT_PREFIX", "REJECT")
L7_RULE_TYPES = ("COOKIE", "FILE_TYPE", "HEADER", "HOST_NAME", "PATH",
                 "SSL_CONN_HAS_CERT", "SSL_VERIFY_RESULT", "SSL_DN_FIELD")
L7_COMPARE = ("REGEX", "STARTS_WITH", "ENDS_WITH", "CONTAINS", "EQUAL_TO")

FIELDS: dict[str, dict[str, Field]] = {
    "loadbalancer": {
        "name": NAME, "description": DESCRIPTION, "admin_state_up": ADMIN_STATE,
        "project_id": PROJECT, "tags": TAGS,
        "vip_address": Field(nullable(ip_address), None, put=False),
        "vip_port_id": Field(nullable(an_uuid), None, put=False),
        "vip_subnet_id": Field(nullable(an_uuid), None, put=False),
        "vip_network_id": Field(nullable(an_uuid), None, put=False),
        "vip_qos_policy_id": Field(nullable(an_uuid), None),
        "provider": Field(nullable(text(64)), None, put=False),
        "flavor_id": Field(nullable(an_uuid), None, put=False),
        "availability_zone": Field(nullable(text(255)), None, put=False),
    },
    "listener": {
        "name": NAME, "description": DESCRIPTION, "admin_state_up": ADMIN_STATE,
        "project_id": PROJECT, "tags": TAGS,
        "loadbalancer_id": Field(an_uuid, REQUIRED, put=False),
        "protocol": Field(one_of(*LISTENER_PROTOCOLS), REQUIRED, put=False),
        "protocol_port": Field(integer(1, 65535), REQUIRED, put=False),
        "connection_limit": Field(integer(-1, 1000000), -1),
        "default_pool_id": Field(nullable(an_uuid), None),
        "default_tls_container_ref": Field(nullable(text(255)), None),
        "sni_container_refs": Field(list_of(text(255)), []),
        "insert_headers": Field(string_dict, {}),
        "timeout_client_data": Field(TIMEOUT_MS, 50000),
        "timeout_member_connect": Field(TIMEOUT_MS, 5000),
        "timeout_member_data": Field(TIMEOUT_MS, 50000),
        "timeout_tcp_inspect": Field(TIMEOUT_MS, 0),
        "allowed_cidrs": Field(nullable(list_of(cidr)), None),
        "client_authentication": Field(one_of("NONE", "OPTIONAL", "MANDATORY"), "NONE"),
    },
    "pool": {
        "name": NAME, "description": DESCRIPTION, "admin_state_up": ADMIN_STATE,
        "project_id": PROJECT, "tags": TAGS,
        "protocol": Field(one_of(*POOL_PROTOCOLS), REQUIRED, put=False),
        "lb_algorithm": Field(one_of(*ALGORITHMS), REQUIRED),
        "listener_id": Field(nullable(an_uuid), None, put=False),
        "loadbalancer_id": Field(nullable(an_uuid), None, put=False),
        "session_persistence": Field(session_persistence, None),
        "tls_enabled": Field(boolean, False),
    },
    "member": {
        "name": NAME, "admin_state_up": ADMIN_STATE, "project_id": PROJECT, "tags": TAGS,
        "address": Field(ip_address, REQUIRED, put=False),
        "protocol_port": Field(integer(1, 65535), REQUIRED, put=False),
        "weight": Field(integer(0, 256), 1),
        "backup": Field(boolean, False),
        "subnet_id": Field(nullable(an_uuid), None, put=False),
        "monitor_address": Field(nullable(ip_address), None),
        "monitor_port": Field(nullable(integer(1, 65535)), None),
    },
    "healthmonitor": {
        "name": NAME, "admin_state_up": ADMIN_STATE, "project_id": PROJECT, "tags": TAGS,
        "pool_id": Field(an_uuid, REQUIRED, put=False),
        "type": Field(one_of(*MONITOR_TYPES), REQUIRED, put=False),
        "delay": Field(integer(0, 2147483647), REQUIRED),
        "timeout": Field(integer(0, 2147483647), REQUIRED),
        "max_retries": Field(integer(1, 10), REQUIRED),
        "max_retries_down": Field(integer(1, 10), 3),
        "http_method": Field(nullable(one_of(*HTTP_METHODS)), None),
        "url_path": Field(nullable(url_path), None),
        "expected_codes": Field(nullable(expected_codes), None),
        "http_version": Field(nullable(http_version), None),
        "domain_name": Field(nullable(text(255)), None),
    },
    "l7policy": {
        "name": NAME, "description": DESCRIPTION, "admin_state_up": ADMIN_STATE,
        "project_id": PROJECT, "tags": TAGS,
        "listener_id": Field(an_uuid, REQUIRED, put=False),
        "action": Field(one_of(*L7_ACTIONS), REQUIRED),
        "position": Field(integer(1, 2147483647), 2147483647),
        "redirect_pool_id": Field(nullable(an_uuid), None),
        "redirect_url": Field(nullable(text(255)), None),
        "redirect_prefix": Field(nullable(text(255)), None),
        "redirect_http_code": Field(nullable(integer(301, 308)), None),
    },
    "l7rule": {
        "admin_state_up": ADMIN_STATE, "project_id": PROJECT, "tags": TAGS,
        "type": Field(one_of(*L7_RULE_TYPES), REQUIRED),
        "compare_type": Field(one_of(*L7_COMPARE), REQUIRED),
        "key": Field(nullable(text(255)), None),
        "value": Field(text(255), REQUIRED),
        "invert": Field(boolean, False),
    },
}

# The collection of each kind under /v2/lbaas (members and L7 rules are
# sub-collections of their pool and policy).
COLLECTIONS = {"loadbalancer": "loadbalancers", "listener": "listeners", "pool": "pools",
               "member": "members", "healthmonitor": "healthmonitors",
               "l7policy": "l7policies", "l7rule": "rules"}
# The quota resource counting each kind (Octavia's names).
QUOTA_OF = {"loadbalancer": "load_balancer", "listener": "listener", "pool": "pool",
            "member": "member", "healthmonitor": "health_monitor",
            "l7policy": "l7policy", "l7rule": "l7rule"}
QUOTA_RESOURCES = tuple(QUOTA_OF.values())


def invalid(name: str, value: Any, why: str) -> LbFault:
    return LbFault(f"Invalid input for field/attribute {name}. Value: '{value}'. {why}")


def check_body(kind: str, body: Any, create: bool) -> dict:
    """The request's fields checked and converted; on create with the defaults.
    Unknown fields and fields the action may not set are refused, as Octavia."""
    if not isinstance(body, dict):
        raise LbFault("Invalid input: the request body is not an object")
    fields = FIELDS[kind]
    out: dict = {}
    for name, value in body.items():
        spec = fields.get(name)
        if spec is None or not (spec.post if create else spec.put):
            raise LbFault(f"Invalid input for field/attribute {name}. Value: '{value}'. "
                          "Unknown or read-only attribute")
        try:
            out[name] = spec.check(value)
        except ValueError as error:
            raise invalid(name, value, str(error)) from None
    if create:
        for name, spec in fields.items():
            if name in out:
                continue
            if spec.default is REQUIRED:
                raise LbFault(f"Invalid input for field/attribute {name}. Value: "
                              "'Unset'. Mandatory field missing.")
            if spec.post:
                out[name] = spec.default
    return out


def check_monitor(hm: dict) -> dict:
    """Defaults and cross-field checks of a health monitor (Octavia's): HTTP(S)
    checks get GET / 200; others take none of those."""
    http = hm["type"] in ("HTTP", "HTTPS")
    if http:
        hm["http_method"] = hm.get("http_method") or "GET"
        hm["url_path"] = hm.get("url_path") or "/"
        hm["expected_codes"] = hm.get("expected_codes") or "200"
    else:
        for name in ("http_method", "url_path", "expected_codes", "http_version",
                     "domain_name"):
            if hm.get(name) is not None:
                raise LbFault(f"{name} is not a valid option for health monitors of "
                              f"type {hm['type']}")
    if hm["timeout"] > hm["delay"]:
        raise LbFault("The health monitor timeout must be less than or equal to its "
                      "delay")
    return hm


def check_l7policy(policy: dict) -> dict:
    action = policy["action"]
    wanted = {"REDIRECT_TO_POOL": "redirect_pool_id", "REDIRECT_TO_URL": "redirect_url",
              "REDIRECT_PREFIX": "redirect_prefix"}.get(action)
    if wanted is not None and not policy.get(wanted):
        raise LbFault(f"{wanted} must be set for an L7 policy with action {action}")
    for other in ("redirect_pool_id", "redirect_url", "redirect_prefix"):
        if other != wanted:
            policy[other] = None
    if action in ("REDIRECT_TO_URL", "REDIRECT_PREFIX"):
        policy["redirect_http_code"] = policy.get("redirect_http_code") or 302
    else:
        policy["redirect_http_code"] = None
    return policy


def check_l7rule(rule: dict) -> dict:
    if rule["type"] in ("HEADER", "COOKIE", "SSL_DN_FIELD") and not rule.get("key"):
        raise LbFault(f"key is required for L7 rules of type {rule['type']}")
    if rule["type"] == "FILE_TYPE" and rule["compare_type"] not in ("EQUAL_TO", "REGEX"):
        raise LbFault("FILE_TYPE rules support only EQUAL_TO and REGEX comparisons")
    if rule["compare_type"] == "REGEX":
        try:
            re.compile(rule["value"])
        except re.error:
            raise invalid("value", rule["value"], "Value should be a valid regex") from None
    return rule
