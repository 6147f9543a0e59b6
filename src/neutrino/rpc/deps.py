"""What the RPC endpoints need from the server: exactly these, named here so that
rpc/ depends on no composition root (the server's Core satisfies it structurally).

Read-only properties, so a frozen Core (or any object with these attributes)
matches as well as a mutable one.
"""

from __future__ import annotations

from typing import Protocol

from oslo_config import cfg

from neutrino.db.engine import Database
from neutrino.events import Registry
from neutrino.services.ports import PortService
from neutrino.services.routers import RouterService


class ServerServices(Protocol):
    @property
    def conf(self) -> cfg.ConfigOpts: ...

    @property
    def db(self) -> Database: ...

    @property
    def events(self) -> Registry: ...

    @property
    def ports(self) -> PortService: ...

    @property
    def routers(self) -> RouterService: ...
