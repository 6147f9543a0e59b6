"""Which service plugins the all-in-one loads when the operator did not say (issue 16).

A service plugin (``service_plugins``) is only worth loading on a host that can
realise it: its agent runs a tool from a Debian package. The all-in-one (``make run``
as root: neutrino-server with its embedded agents) enables each plugin of
`REQUIREMENTS` whose tools are all installed, in the table's order, so a machine
with HAProxy serves load balancing without any configuration::

    plugin         needs (all of them, on PATH or in TOOL_DIRS)   Debian package
    firewall_v2    nft                                            nftables
    lbaas          haproxy                                        haproxy
    vpnaas         swanctl, charon                                strongswan-swanctl,
                                                                  charon-systemd

``service_plugins`` written in a configuration file (or on the command line) always
wins, also ``service_plugins =`` (none); a separate server (no embedded agents) keeps
the option's default. `choose` is pure (``which`` is passed in); `apply` sets the
choice as the option's default and logs what was chosen and why.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from oslo_config import cfg

LOG = logging.getLogger(__name__)

# plugin -> the tools its agent runs (all needed). A new service adds one line.
REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "firewall_v2": ("nft",),
    "lbaas": ("haproxy",),
    # strongSwan: swanctl loads the configuration, charon is the IKE daemon
    # (Debian installs it outside PATH, in /usr/lib/ipsec).
    "vpnaas": ("swanctl", "charon"),
}
# Looked at besides PATH: a root shell's sbin directories may be missing from the
# PATH a service manager gives, and strongSwan's daemon lives in /usr/lib/ipsec.
TOOL_DIRS = ("/usr/sbin", "/sbin", "/usr/lib/ipsec", "/usr/libexec/ipsec")
# Where an option's value came from when the operator set it.
_EXPLICIT = frozenset({cfg.Locations.user, cfg.Locations.command_line,
                       cfg.Locations.environment, cfg.Locations.set_override})

Which = Callable[[str], str | None]


@dataclass(frozen=True)
class Choice:
    plugins: list[str]
    missing: dict[str, list[str]]   # plugin left out -> the tools not found


def which(tool: str) -> str | None:
    """The path of `tool` on PATH or in TOOL_DIRS; None when it is nowhere."""
    path = os.pathsep.join([os.environ.get("PATH", os.defpath), *TOOL_DIRS])
    return shutil.which(tool, path=path)


def choose(find: Which = which,
           requirements: dict[str, tuple[str, ...]] = REQUIREMENTS) -> Choice:
    """The plugins whose tools are all found, in the table's order."""
    plugins: list[str] = []
    missing: dict[str, list[str]] = {}
    for plugin, tools in requirements.items():
        absent = [tool for tool in tools if not find(tool)]
        if absent:
            missing[plugin] = absent
        else:
            plugins.append(plugin)
    return Choice(plugins, missing)


def explicit(conf: cfg.ConfigOpts) -> bool:
    """Whether the operator set ``service_plugins`` (a file, the command line)."""
    return conf.get_location("service_plugins").location in _EXPLICIT


def apply(conf: cfg.ConfigOpts, find: Which = which) -> Sequence[str]:
    """For the all-in-one: make the installed services' plugins the default of
    ``service_plugins`` unless the operator set it; the plugins in effect."""
    if explicit(conf):
        LOG.info("service_plugins = %s (from the configuration; not chosen by the "
                 "installed tools)", ", ".join(conf.service_plugins) or "(none)")
        return list(conf.service_plugins)
    choice = choose(find)
    conf.set_default("service_plugins", choice.plugins)
    left_out = "; ".join(f"{plugin} left out: {', '.join(tools)} not found"
                         for plugin, tools in choice.missing.items())
    LOG.info("all-in-one: service_plugins = %s, chosen by the installed tools%s",
             ", ".join(choice.plugins) or "(none)", f" ({left_out})" if left_out else "")
    return choice.plugins
