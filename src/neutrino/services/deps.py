"""What every service is built with: config, database, event registry, quotas."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from oslo_config import cfg

from neutrino.db.engine import Database
from neutrino.events import Registry

if TYPE_CHECKING:
    from neutrino.services.quotas import QuotaService


@dataclass
class Deps:
    conf: cfg.ConfigOpts
    db: Database
    events: Registry
    quotas: QuotaService
