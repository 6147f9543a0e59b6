"""The server's transport: built as the agents build theirs, by
neutrino.contract.bus (options, transport_url, in-process check), re-exported here
for the server's modules."""

from neutrino.contract.bus import (
    DEFAULT_TRANSPORT_URL,
    agent_opts,
    get_transport,
    is_in_process,
    list_opts,
    register_opts,
)

__all__ = [
    "DEFAULT_TRANSPORT_URL",
    "agent_opts",
    "get_transport",
    "is_in_process",
    "list_opts",
    "register_opts",
]
