"""SQLAlchemy models, one module per feature. Schema changes go through Alembic
(neutrino/db/migrations); a test fails when the models and the migrations differ.

Uniqueness that protects users lives in constraints, not in locks: an IP is unique per
subnet, a MAC per network; allocation code inserts and retries on a race.

Import models from here (`from neutrino.db import models; models.Port`).
"""

from neutrino.db.models.auto_allocate import *  # noqa: F403
from neutrino.db.models.base import UUID_LEN, Base, StandardAttrs, utcnow  # noqa: F401
from neutrino.db.models.core import *  # noqa: F403
from neutrino.db.models.extensions_a import *  # noqa: F403
from neutrino.db.models.fwaas import *  # noqa: F403
from neutrino.db.models.l3 import *  # noqa: F403
from neutrino.db.models.l3_ha import *  # noqa: F403
from neutrino.db.models.logging import *  # noqa: F403
from neutrino.db.models.metering import *  # noqa: F403
from neutrino.db.models.ml2 import *  # noqa: F403
from neutrino.db.models.network_ha import *  # noqa: F403
from neutrino.db.models.octavia import *  # noqa: F403
from neutrino.db.models.port_attributes import *  # noqa: F403
from neutrino.db.models.port_forwarding import *  # noqa: F403
from neutrino.db.models.qos import *  # noqa: F403
from neutrino.db.models.rbac import *  # noqa: F403
from neutrino.db.models.reliability import *  # noqa: F403
from neutrino.db.models.security import *  # noqa: F403
from neutrino.db.models.segments_dns import *  # noqa: F403
from neutrino.db.models.subnetpools import *  # noqa: F403
from neutrino.db.models.trunks import *  # noqa: F403
from neutrino.db.models.vpnaas import *  # noqa: F403
