"""The agents: per-host processes that realise what the server's API says.

`common/` holds what every agent shares (the kernel access in `privileged`, the
main loop, the bus), `linuxbridge/` the L2 agent, `vif` plugs test "VMs".
docs/agents.md describes them.
"""
