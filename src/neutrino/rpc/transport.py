"""The server's transport: built as the agents build theirs, by
neutrino.contract.bus (options, transport_url, in-process check), re-exported here
for the server's modules."""

from neutrino.contract.bus import (  # noqa: F401
    DEFAULT_TRANSPORT_URL,
    agent_opts,
    get_transport,
    is_in_process,
    list_opts,
    register_opts,
)
