"""auto-allocated-topology ("Get Me A Network"): GET / DELETE
/v2.0/auto-allocated-topology/{project_id}; the answer is `{"id": <network id>,
"tenant_id", "project_id"}`. Upstream's errors."""

from __future__ import annotations

from neutrino import exceptions as exc
from neutrino.resources.feature import extension

# ?fields=dry-run: check the requirements, build nothing.
DRY_RUN = "dry-run"
DRY_RUN_PASS = "dry-run=pass"
NETWORK_NAME = "auto_allocated_network"
ROUTER_NAME = "auto_allocated_router"
SUBNET_NAME = "auto_allocated_subnet_v%d"


class AutoAllocationFailure(exc.Conflict):
    message = "Deployment error: %(reason)s."


class AutoAllocateBadRequest(exc.BadRequest):
    """Upstream's BadRequest(resource='auto_allocate', msg=...): type "BadRequest"."""

    def __init__(self, msg: str) -> None:
        exc.NeutronError.__init__(self, resource="auto_allocate", msg=msg)

    @property
    def type(self) -> str:
        return "BadRequest"


# No collection of its own (the API layer serves it).
FEATURE = extension("auto-allocated-topology", "Auto Allocated Topology Services",
                    "Auto Allocated Topology Services.", "2016-01-01T00:00:00-00:00")
