"""The metadata agent's options (upstream's names, metadata_agent.ini).

`metadata_proxy_socket` is shared with the agents that run per-namespace proxies
(DHCP, L3): they tell their proxies where the metadata agent listens.
"""

from __future__ import annotations

from oslo_config import cfg

from neutrino.agent.common import config as agent_config
from neutrino.contract import options

NOVA = "nova"
BUILTIN = "builtin"

# The server's own definition (same object: one file or one process registers it once).
SHARED_OPTS = [options.STATE_PATH]

# Where the agent listens and the proxies send to (DHCP and L3 agents register it too).
socket_opts: list[cfg.Opt] = [
    cfg.StrOpt("metadata_proxy_socket", default="$state_path/metadata_proxy",
               help="Unix socket the metadata agent listens on and the per-namespace "
                    "metadata proxies (DHCP and L3 agents) forward requests to."),
]

metadata_opts = [
    cfg.StrOpt("metadata_upstream", default=NOVA, choices=[NOVA, BUILTIN],
               help="Where identified requests go: 'nova' forwards them to the Nova "
                    "metadata API (nova_metadata_*); 'builtin' answers them from "
                    "Neutrino's own data (OpenStack and EC2 trees: instance id = the "
                    "port's device_id, addresses, hostname), for clouds without Nova "
                    "(the all-in-one's default)."),
    cfg.StrOpt("nova_metadata_host", default="127.0.0.1",
               help="IP address or DNS name of the Nova metadata server."),
    cfg.PortOpt("nova_metadata_port", default=8775,
                help="TCP port of the Nova metadata server."),
    cfg.StrOpt("nova_metadata_protocol", default="http", choices=["http", "https"],
               help="Protocol to reach the Nova metadata server."),
    cfg.BoolOpt("nova_metadata_insecure", default=False,
                help="With https: do not verify the Nova metadata server's certificate."),
    cfg.StrOpt("auth_ca_cert",
               help="Certificate authority file to verify the Nova metadata server's "
                    "certificate with (https; default: the system's)."),
    cfg.StrOpt("nova_client_cert", default="",
               help="Client certificate for the Nova metadata server (https)."),
    cfg.StrOpt("nova_client_priv_key", default="",
               help="Private key of the client certificate (https)."),
    cfg.StrOpt("metadata_proxy_shared_secret", default="", secret=True,
               help="Secret shared with Nova: X-Instance-ID-Signature is the "
                    "HMAC-SHA256 of the instance id keyed with it."),
    cfg.StrOpt("metadata_proxy_socket_mode", default="deduce",
               choices=["deduce", "user", "group", "all"],
               help="Permissions of the socket: 'user' 0644, 'group' 0664, 'all' "
                    "0666; 'deduce' is 'user' (the proxies run as root here)."),
    cfg.IntOpt("metadata_workers", default=0, min=0,
               help="Accepted for compatibility: the agent serves every request in a "
                    "thread of one process (requests are short)."),
    cfg.IntOpt("metadata_backlog", default=4096, min=1,
               help="Listen backlog of the socket."),
    cfg.StrOpt("cache_url", default="memory://?default_ttl=5",
               help="Cache of the instance lookups: 'memory://?default_ttl=<seconds>'; "
                    "empty: no cache (every request asks the server)."),
    cfg.FloatOpt("nova_metadata_timeout", default=30, min=1,
                 help="Seconds to wait for the Nova metadata server's answer."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    agent_config.register_opts(conf)
    conf.register_opts(SHARED_OPTS)
    conf.register_opts(socket_opts)
    conf.register_opts(metadata_opts)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return agent_config.list_opts_with([*SHARED_OPTS, *socket_opts, *metadata_opts])


def cache_ttl(cache_url: str) -> float:
    """Seconds a lookup is cached, from upstream's ``memory://?default_ttl=N``; 0 for
    none. Raises ValueError for anything else."""
    if not cache_url:
        return 0.0
    scheme, _, query = cache_url.partition("?")
    if scheme != "memory://":
        raise ValueError(f"cache_url {cache_url!r}: only memory:// is supported")
    ttl = 0.0
    for part in filter(None, query.split("&")):
        key, _, value = part.partition("=")
        if key == "default_ttl":
            ttl = float(value)
    return max(ttl, 0.0)


SOCKET_MODES = {"deduce": 0o644, "user": 0o644, "group": 0o664, "all": 0o666}
