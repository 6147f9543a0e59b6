"""extra_dhcp_opt: DHCP options served to a port,
``[{"opt_name", "opt_value", "ip_version": 4 | 6}]``.

On update, options are merged by (opt_name, ip_version): a null value removes the
option, any other adds or replaces it.
"""

from __future__ import annotations

from typing import Any

from neutrino.resources import validators as v
from neutrino.resources.attributes import Attr
from neutrino.resources.feature import Extension, Feature
from neutrino.resources.port import UNSET

EXTRA_DHCP_OPTS = "extra_dhcp_opts"
OPT_NAME_MAX_LEN = 64
OPT_VALUE_MAX_LEN = 255
# Options whose value may be the empty string (e.g. "no default route").
BLANK_ALLOWED = ("router", "classless-static-route")
OPT_KEYS = {"opt_name", "opt_value", "ip_version"}


def _valid_opt(item: Any) -> dict | None:
    if not isinstance(item, dict) or not {"opt_name", "opt_value"} <= set(item) \
            or set(item) - OPT_KEYS:
        return None
    name, value = item["opt_name"], item["opt_value"]
    if not isinstance(name, str) or not name.strip() or len(name) > OPT_NAME_MAX_LEN:
        return None
    if value is not None:
        if not isinstance(value, str) or len(value) > OPT_VALUE_MAX_LEN:
            return None
        if not value.strip() and name not in BLANK_ALLOWED:
            return None
    version: Any = item.get("ip_version", 4)
    if isinstance(version, str) and version.strip().isdigit():
        version = int(version)
    if isinstance(version, bool) or version not in (4, 6):
        return None
    return {"opt_name": name, "opt_value": value, "ip_version": version}


def validate_opts(value: Any) -> list[dict] | None:
    """Shape checks (pure); null stays null (nothing to do)."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise v.bad(EXTRA_DHCP_OPTS, f"'{value}' is not a list")
    out: list[dict] = []
    seen: set[tuple[str, int]] = set()
    for item in value:
        opt = _valid_opt(item)
        if opt is None:
            raise v.bad(EXTRA_DHCP_OPTS, f"No valid key specs matched for: {item}")
        key = (opt["opt_name"], opt["ip_version"])
        if key in seen:
            raise v.bad(EXTRA_DHCP_OPTS, f"Duplicate option {opt['opt_name']} for "
                                         f"IPv{opt['ip_version']}")
        seen.add(key)
        out.append(opt)
    return out


def is_stored_value(name: str, value: str | None) -> bool:
    """Whether an option with this value is kept (null, and empty unless the option
    may be blank, are not)."""
    if name in BLANK_ALLOWED:
        return value is not None
    return bool(value)


FEATURE = Feature(
    "extra_dhcp_opt",
    (Extension("extra_dhcp_opt", "Neutron Extra DHCP options", "Extra options "
               "configuration for DHCP. For example PXE boot options to DHCP clients can "
               "be specified (e.g. tftp-server, server-ip-address, bootfile-name)",
               "2013-03-17T12:00:00-00:00"),),
    adds={"ports": (Attr(EXTRA_DHCP_OPTS, convert=validate_opts, default=UNSET,
                         allow_put=True, filterable=False, sortable=False),)})
