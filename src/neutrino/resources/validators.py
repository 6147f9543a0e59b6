"""Converters for attribute values: pure, each raising upstream's error on bad input.

Two error shapes exist upstream and clients see both:
* converters raise ``InvalidInput`` -> "Invalid input for operation: <msg>."
* validators produce "Invalid input for <attr>. Reason: <msg>." (HTTPBadRequest)
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from neutrino import exceptions as exc

# The widest integer a column holds: what the integer converters below declare.
from neutrino.db.bounds import INT_MAX, INT_MIN

UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

NAME_MAX_LEN = 255
DESCRIPTION_MAX_LEN = 255
DEVICE_ID_MAX_LEN = 255
DEVICE_OWNER_MAX_LEN = 255
PROJECT_ID_MAX_LEN = 255
TAG_MAX_LEN = 255


F = TypeVar("F", bound=Callable[..., Any])


def described(schema: dict[str, Any]) -> Callable[[F], F]:
    """Attach the JSON schema of what a converter accepts (`convert.schema`), from
    which the OpenAPI document and its bounds are generated."""
    def mark(fn: F) -> F:
        fn.schema = schema  # type: ignore[attr-defined]
        return fn
    return mark


def bad(attr: str, reason: str) -> exc.HTTPBadRequest:
    return exc.HTTPBadRequest(f"Invalid input for {attr}. Reason: {reason}.")


def to_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ("true", "1", "yes", "on"):
            return True
        if low in ("false", "0", "no", "off"):
            return False
    raise exc.InvalidInput(f"'{value}' cannot be converted to boolean")


def to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise exc.InvalidInput(f"'{value}' is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise exc.InvalidInput(f"'{value}' is not an integer")


to_boolean.schema = {"type": "boolean"}  # type: ignore[attr-defined]
to_int.schema = {"type": "integer", "minimum": INT_MIN,  # type: ignore[attr-defined]
                 "maximum": INT_MAX}


def string(attr: str, max_len: int | None = None) -> Callable[[Any], str]:
    @described({"type": "string", **({"maxLength": max_len} if max_len else {})})
    def convert(value: Any) -> str:
        if not isinstance(value, str):
            raise bad(attr, f"'{value}' is not a valid string")
        if max_len is not None and len(value) > max_len:
            raise bad(attr, f"'{value}' exceeds maximum length of {max_len}")
        if "\x00" in value:
            raise bad(attr, f"'{value}' contains a NUL character")
        return value
    return convert


def uuid_value(attr: str) -> Callable[[Any], str]:
    @described({"type": "string", "format": "uuid"})
    def convert(value: Any) -> str:
        if not isinstance(value, str) or not UUID_RE.match(value):
            raise bad(attr, f"'{value}' is not a valid UUID")
        return str(uuid.UUID(value))
    return convert


def uuid_or_none(attr: str) -> Callable[[Any], str | None]:
    inner = uuid_value(attr)

    @described({"type": ["string", "null"], "format": "uuid"})
    def convert(value: Any) -> str | None:
        return None if value is None else inner(value)
    return convert


def one_of(attr: str, values: list[Any]) -> Callable[[Any], Any]:
    @described({"enum": list(values)})
    def convert(value: Any) -> Any:
        if value not in values:
            raise bad(attr, f"'{value}' is not in {values}")
        return value
    return convert


def int_in_range(attr: str, low: int, high: int | None) -> Callable[[Any], int]:
    @described({"type": "integer", "minimum": low,
                "maximum": INT_MAX if high is None else high})
    def convert(value: Any) -> int:
        number = to_int(value)
        if number < low or (high is not None and number > high):
            if high is None:
                raise bad(attr, f"'{number}' is too small - must be at least '{low}'")
            raise bad(attr, f"'{number}' is not in range {low} through {high}")
        return number
    return convert


def non_negative(attr: str) -> Callable[[Any], int]:
    @described({"type": "integer", "minimum": 0, "maximum": INT_MAX})
    def convert(value: Any) -> int:
        number = to_int(value)
        if number < 0:
            raise bad(attr, f"'{number}' should be non-negative")
        return number
    return convert


def subnet_problem(value: Any) -> str | None:
    """Upstream's "type:subnet" check: a CIDR with its prefix length, IPv4 written
    canonically; host bits are allowed (the resource normalises them)."""
    if not isinstance(value, str) or value != value.strip() or "%" in value:
        return f"'{value}' is not a valid IP subnet"
    try:
        iface = ipaddress.ip_interface(value)
    except ValueError:
        return f"'{value}' is not a valid IP subnet"
    if "/" not in value or (iface.version == 4 and str(iface) != value):
        return f"'{value}' isn't a recognized IP subnet cidr, '{iface.network}' is recommended"
    return None


def ip_address(attr: str) -> Callable[[Any], str]:
    @described({"type": "string", "format": "ip-address"})
    def convert(value: Any) -> str:
        try:
            if not isinstance(value, str) or "/" in value:
                raise ValueError
            return str(ipaddress.ip_address(value.strip()))
        except ValueError:
            raise bad(attr, f"'{value}' is not a valid IP address") from None
    return convert


def ip_address_or_none(attr: str) -> Callable[[Any], str | None]:
    inner = ip_address(attr)

    @described({"type": ["string", "null"], "format": "ip-address"})
    def convert(value: Any) -> str | None:
        return None if value is None else inner(value)
    return convert


def list_of_dicts(attr: str) -> Callable[[Any], list[dict]]:
    @described({"type": "array", "items": {"type": "object"}})
    def convert(value: Any) -> list[dict]:
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise bad(attr, f"'{value}' is not a list")
        return value
    return convert


def dict_value(attr: str) -> Callable[[Any], dict]:
    @described({"type": ["object", "null"]})
    def convert(value: Any) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise bad(attr, f"'{value}' is not a dictionary")
        return value
    return convert


@described({"type": "string", "maxLength": PROJECT_ID_MAX_LEN})
def project_id(value: Any) -> str:
    return string("project_id", PROJECT_ID_MAX_LEN)(value)


@described({"type": "string", "format": "date-time"})
def query_datetime(value: str) -> dt.datetime:
    """A timestamp filter (``created_at=2026-11-26T13:38:48Z``) as naive UTC."""
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise exc.InvalidInput(f"'{value}' is not a valid timestamp") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


@described({"type": "boolean"})
def query_bool(value: str) -> bool:
    return to_boolean(value)


@described({"type": "integer", "minimum": INT_MIN, "maximum": INT_MAX})
def query_int(value: str) -> int:
    return to_int(value)
