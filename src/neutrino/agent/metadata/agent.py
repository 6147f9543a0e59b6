"""``neutrino-metadata-agent --config-file …``: the metadata agent of a host.

Listens on `metadata_proxy_socket` for the requests the per-namespace proxies
(DHCP and L3 agents) forward, identifies the instance through the server
(``get_metadata_instance`` on q-plugin, cached `cache_url`'s ttl) and answers through
Nova or the built-in upstream (server.py). Reports itself as upstream's "Metadata
agent". It has no desired state: its loop only sends the heartbeat.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from oslo_config import cfg

from neutrino.agent.common import service
from neutrino.agent.common.rpc import PluginApi
from neutrino.agent.metadata import config as md_config
from neutrino.agent.metadata import lookup
from neutrino.agent.metadata.lookup import Instance, Source, TTLCache
from neutrino.agent.metadata.server import MetadataServer, Upstream
from neutrino.contract import bus as rpc_transport
from neutrino.contract import topics
from neutrino.contract.agent_state import AgentState
from neutrino.contract.bus import StateReporter
from neutrino.contract.metadata import MetadataInstance, MetadataInstanceRequest

LOG = logging.getLogger(__name__)

BINARY = "neutrino-metadata-agent"


class MetadataPluginApi(PluginApi):
    """PluginApi plus the metadata agent's call on q-plugin (docs/rpc.md)."""

    def get_metadata_instance(self, source: Source) -> MetadataInstance | None:
        request = MetadataInstanceRequest(ip_address=source.address)
        if source.kind == "router":
            request["router_id"] = source.resource_id
        else:
            request["network_id"] = source.resource_id
        answer: MetadataInstance | None = self.client.call(
            {}, "get_metadata_instance", **request)
        return answer


def upstream(conf: cfg.ConfigOpts) -> Upstream:
    return Upstream(builtin=conf.metadata_upstream == md_config.BUILTIN,
                    host=conf.nova_metadata_host, port=conf.nova_metadata_port,
                    protocol=conf.nova_metadata_protocol,
                    insecure=conf.nova_metadata_insecure, ca_cert=conf.auth_ca_cert,
                    client_cert=conf.nova_client_cert,
                    client_key=conf.nova_client_priv_key,
                    secret=conf.metadata_proxy_shared_secret,
                    timeout=conf.nova_metadata_timeout)


def agent_state(host: str, conf: cfg.ConfigOpts, start_flag: bool) -> AgentState:
    """The state report, with upstream's configuration keys."""
    state: AgentState = {"agent_type": topics.AGENT_TYPE_METADATA, "binary": BINARY, "topic": "N/A",
             "host": host,
             "configurations": {
                 "metadata_proxy_socket": conf.metadata_proxy_socket,
                 "nova_metadata_host": conf.nova_metadata_host,
                 "nova_metadata_port": conf.nova_metadata_port,
                 "log_agent_heartbeats": False,
                 "metadata_upstream": conf.metadata_upstream}}
    if start_flag:
        state["start_flag"] = True
    return state


class MetadataAgent:
    """The parts wired together; `start`/`stop` for tests, main and the all-in-one."""

    def __init__(self, conf: cfg.ConfigOpts, transport: Any = None,
                 server: str | None = None) -> None:
        self.conf = conf
        self.host: str = conf.host
        self.transport = transport or rpc_transport.get_transport(conf)
        timeout = conf.rpc_response_timeout
        self.plugin = MetadataPluginApi(self.transport, self.host, f"metadata-{self.host}",
                                        timeout=timeout, server=server)
        self.reporter = StateReporter(self.transport, self.host, timeout=timeout,
                                      server=server)
        self.cache: TTLCache[tuple[str, str, str], Instance | None] = TTLCache(
            md_config.cache_ttl(conf.cache_url))
        self.upstream = upstream(conf)
        self.server: MetadataServer | None = None
        # No desired state to sync: the loop runs the heartbeat (and a no-op sync).
        self.loop = service.agent_loop(conf, lambda: None, self.report)

    def resolve(self, source: Source) -> Instance | None:
        return self.cache.get(source.key, lambda: lookup.instance_from(
            self.plugin.get_metadata_instance(source)))

    def report(self, start_flag: bool) -> None:
        self.reporter.report(agent_state(self.host, self.conf, start_flag))

    def start(self) -> MetadataAgent:
        mode = md_config.SOCKET_MODES[self.conf.metadata_proxy_socket_mode]
        self.server = MetadataServer(self.conf.metadata_proxy_socket, self.resolve,
                                     self.upstream, mode=mode,
                                     backlog=self.conf.metadata_backlog).start()
        self.loop.start()
        return self

    def stop(self) -> None:
        self.loop.stop()
        if self.server is not None:
            self.server.stop()
            self.server = None


def check_config(conf: cfg.ConfigOpts) -> list[str]:
    problems = []
    try:
        md_config.cache_ttl(conf.cache_url)
    except ValueError as error:
        problems.append(str(error))
    if conf.metadata_upstream == md_config.NOVA and not conf.metadata_proxy_shared_secret:
        LOG.warning("metadata_proxy_shared_secret is empty: Nova must be configured "
                    "with an empty secret too")
    if conf.nova_client_priv_key and not conf.nova_client_cert:
        problems.append("nova_client_priv_key is set without nova_client_cert")
    return problems


def describe(agent: MetadataAgent) -> str:
    conf = agent.conf
    upstream = ("built-in" if agent.upstream.builtin else
                f"{conf.nova_metadata_protocol}://{conf.nova_metadata_host}:"
                f"{conf.nova_metadata_port}")
    return f"socket {conf.metadata_proxy_socket}, upstream {upstream}"


def main(argv: list[str] | None = None) -> int:
    # Not root: unlike the other agents it changes nothing in the kernel.
    return service.main(argv, BINARY, md_config.register_opts, check_config,
                        MetadataAgent, describe, needs_root_for=None)


if __name__ == "__main__":
    sys.exit(main())
