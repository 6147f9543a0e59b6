"""How many calls each of the server's RPC servers runs at once (rpc/server.py
RpcService.pool_size): oslo.messaging's executor_thread_pool_size, but fewer than
the process's pooled database connections, so a storm of agents' calls leaves
connections to the API requests of the same process."""

from __future__ import annotations

from neutrino import conf as conf_mod
from neutrino.rpc.server import RpcService


def _size(**overrides: object) -> int:
    conf = conf_mod.new_conf([])
    conf.set_override("transport_url", "fake://")
    for name, value in overrides.items():
        group = "database" if name == "max_pool_size" else None
        conf.set_override(name, value, group=group)
    return RpcService(conf, {}).pool_size()


def test_pool_size_stays_below_the_database_pool() -> None:
    assert _size() == 8                                   # max_pool_size 10 - 2
    assert _size(max_pool_size=40) == 38
    assert _size(max_pool_size=40, executor_thread_pool_size=16) == 16
    assert _size(max_pool_size=3) == 2                    # never below 2
