"""The metadata service for VMs: the agent behind a unix socket (agent.py, server.py),
the per-namespace proxies in front of it (ns_proxy.py, managed by proxies.py) and the
built-in upstream for clouds without Nova (builtin.py)."""
