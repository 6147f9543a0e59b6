"""Flavors and service profiles (flavors), their associations, and the flavor of a
new router (l3-flavors).

A router's flavor is checked as upstream's L3 driver controller does when it picks
the router's provider: the flavor exists, is for L3_ROUTER_NAT and enabled, has a
service profile, the (first) profile is enabled and names a configured provider's
driver. Routers using a flavor keep it from being deleted.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from neutrino import events
from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.db import models
from neutrino.db.listing import ListQuery, fetch_page, filter_clauses, rows_for_ids
from neutrino.resources import flavors as fr
from neutrino.services import common
from neutrino.services.common import Authorize
from neutrino.services.deps import Deps
from neutrino.services.service_providers import ServiceProviders

F = models.ServiceFlavor
SP = models.ServiceProfile
B = models.FlavorServiceProfileBinding

FLAVOR_COLUMNS = {"id": F.id, "name": F.name, "description": F.description,
                  "service_type": F.service_type, "enabled": F.enabled}
PROFILE_COLUMNS = {"id": SP.id, "description": SP.description, "driver": SP.driver,
                   "enabled": SP.enabled, "metainfo": SP.metainfo}


def _profile(session: Session, sp_id: str, lock: bool = False) -> SP:
    row = session.get(SP, sp_id, with_for_update=lock)
    if row is None:
        raise fr.ServiceProfileNotFound(sp_id=sp_id)
    return row


def _flavor(session: Session, flavor_id: str, lock: bool = False) -> F:
    row = session.get(F, flavor_id, with_for_update=lock)
    if row is None:
        raise fr.FlavorNotFound(flavor_id=flavor_id)
    return row


class FlavorService:
    resource = fr.FLAVOR
    model = F

    def __init__(self, deps: Deps, providers: ServiceProviders) -> None:
        self.deps = deps
        self.providers = providers

    def subscribe(self, registry: events.Registry) -> None:
        registry.subscribe(self._router_created, "router", events.PRECOMMIT_CREATE)

    # -- reads ---------------------------------------------------------------

    def to_dicts(self, session: Session, rows: list[F]) -> list[dict]:
        profiles: dict[str, list[str]] = defaultdict(list)
        stmt = select(B.flavor_id, B.service_profile_id).order_by(B.service_profile_id)
        for flavor_id, sp_id in rows_for_ids(session, stmt, B.flavor_id,
                                             [r.id for r in rows]):
            profiles[flavor_id].append(sp_id)
        return [{"id": r.id, "name": r.name, "description": r.description,
                 "service_type": r.service_type, "service_profiles": profiles[r.id],
                 "enabled": r.enabled} for r in rows]

    def get(self, ctx: Context, flavor_id: str) -> dict:
        return self.deps.db.run(lambda s: self.to_dicts(s, [_flavor(s, flavor_id)])[0],
                                write=False)

    def list(self, ctx: Context, query: ListQuery, fields: set[str] | None = None
             ) -> list[dict]:
        def run(session: Session) -> list[dict]:
            stmt = select(F).where(*filter_clauses(F, query, FLAVOR_COLUMNS))
            rows = fetch_page(session, stmt, query, FLAVOR_COLUMNS, F,
                              lambda i: fr.FlavorNotFound(flavor_id=i))
            return self.to_dicts(session, rows)
        return self.deps.db.run(run, write=False)

    # -- writes --------------------------------------------------------------

    def create_bulk(self, ctx: Context, items: list[dict],
                    authorize: Authorize = common.allow_all) -> list[dict]:
        def create(session: Session, data: dict) -> F:
            authorize(data, dict(data))
            row = F(id=common.new_id(), name=data["name"], description=data["description"],
                    service_type=data["service_type"], enabled=data["enabled"])
            session.add(row)
            session.flush()
            self._set_profiles(session, row.id, data["service_profiles"])
            return row
        return common.create_all(self.deps, "flavor", ctx, items, create, self.to_dicts)

    @staticmethod
    def _set_profiles(session: Session, flavor_id: str, profile_ids: list[str]) -> None:
        for sp_id in profile_ids:
            _profile(session, sp_id)
        session.execute(delete(B).where(B.flavor_id == flavor_id))
        for sp_id in profile_ids:
            session.add(B(flavor_id=flavor_id, service_profile_id=sp_id))
        session.flush()

    def update(self, ctx: Context, flavor_id: str, data: dict,
               revision: int | None = None) -> dict:
        def run(session: Session) -> dict:
            row = _flavor(session, flavor_id, lock=True)
            for key in ("name", "description", "enabled"):
                if key in data:
                    setattr(row, key, data[key])
            if "service_profiles" in data:
                self._set_profiles(session, flavor_id, data["service_profiles"])
            session.flush()
            return self.to_dicts(session, [row])[0]
        return self.deps.db.run(run)

    def delete(self, ctx: Context, flavor_id: str, revision: int | None = None) -> None:
        def run(session: Session) -> None:
            row = _flavor(session, flavor_id, lock=True)
            used = session.scalar(select(models.Router.id).where(
                models.Router.flavor_id == flavor_id).limit(1))
            if used is not None:
                raise fr.FlavorInUse(flavor_id=flavor_id)
            session.execute(delete(B).where(B.flavor_id == flavor_id))
            session.delete(row)
        self.deps.db.run(run)

    def associate(self, ctx: Context, flavor_id: str, sp_id: str) -> dict:
        def run(session: Session) -> dict:
            _flavor(session, flavor_id, lock=True)
            _profile(session, sp_id)
            if session.get(B, (flavor_id, sp_id)) is not None:
                raise fr.FlavorServiceProfileBindingExists(sp_id=sp_id, fl_id=flavor_id)
            session.add(B(flavor_id=flavor_id, service_profile_id=sp_id))
            session.flush()
            return {"id": sp_id}
        return self.deps.db.run(run)

    def disassociate(self, ctx: Context, flavor_id: str, sp_id: str) -> None:
        def run(session: Session) -> None:
            binding = session.get(B, (flavor_id, sp_id))
            if binding is None:
                raise fr.FlavorServiceProfileBindingNotFound(sp_id=sp_id, fl_id=flavor_id)
            session.delete(binding)
        self.deps.db.run(run)

    # -- l3-flavors ----------------------------------------------------------

    def check_router_flavor(self, session: Session, flavor_id: str) -> str:
        """Raise unless a router may be created with this flavor (upstream's order);
        the flavor's L3 driver."""
        flavor = _flavor(session, flavor_id)
        if flavor.service_type != fr.L3_ROUTER_NAT:
            raise exc.InvalidInput(f"Flavor {flavor_id} is not for service type "
                                   f"{fr.L3_ROUTER_NAT}")
        if not flavor.enabled:
            raise fr.FlavorDisabled()
        sp_id = session.scalar(select(B.service_profile_id).where(B.flavor_id == flavor_id)
                               .order_by(B.service_profile_id).limit(1))
        if sp_id is None:
            raise fr.FlavorServiceProfileBindingNotFound(sp_id="", fl_id=flavor_id)
        profile = _profile(session, sp_id)
        if not profile.enabled:
            raise fr.ServiceProfileDisabled()
        if not any(p.service_type == fr.L3_ROUTER_NAT
                   for p in self.providers.by_driver(profile.driver)):
            raise fr.ServiceProfileDriverNotFound(driver=profile.driver)
        return str(profile.driver)

    def _router_created(self, resource: str, event: str, payload: events.Payload) -> None:
        data = payload.states[0] if payload.states else {}
        flavor_id = data.get("flavor_id")
        if not flavor_id:
            return
        session = payload.session
        driver = self.check_router_flavor(session, flavor_id)
        _check_driver_supports(driver, data)
        router = session.get(models.Router, payload.resource_id)
        router.flavor_id = flavor_id
        session.flush()


# What upstream's L3 drivers support, by the end of their class path: distributed and
# ha are each "unsupported" (False), "mandatory" (True) or optional (None).
_DRIVER_SUPPORT: dict[str, tuple[bool | None, bool | None]] = {
    "SingleNodeDriver": (False, False), "DvrDriver": (True, False),
    "HaDriver": (False, True), "DvrHaDriver": (True, True),
}


def _check_driver_supports(driver: str, request: dict) -> None:
    """As upstream's driver controller: a router that asks for distributed/ha against
    what its flavor's driver supports is refused (400); what it does not ask for is
    not checked."""
    support = _DRIVER_SUPPORT.get(driver.rsplit(".", 1)[-1])
    if support is None:
        return
    for feature, wanted in (("distributed", support[0]), ("ha", support[1])):
        value = request.get(feature)
        if isinstance(value, bool) and wanted is not None and value != wanted:
            state = "unsupported" if not wanted else "mandatory"
            raise exc.InvalidInput(f"The provider of this router's flavor does not "
                                   f"support {feature}={bool(value)} ({feature} is "
                                   f"{state}).")


class ServiceProfileService:
    resource = fr.SERVICE_PROFILE
    model = SP

    def __init__(self, deps: Deps, providers: ServiceProviders) -> None:
        self.deps = deps
        self.providers = providers

    @staticmethod
    def to_dict(row: SP) -> dict:
        return {"id": row.id, "description": row.description, "driver": row.driver,
                "enabled": row.enabled, "metainfo": row.metainfo}

    def get(self, ctx: Context, sp_id: str) -> dict:
        return self.deps.db.run(lambda s: self.to_dict(_profile(s, sp_id)), write=False)

    def list(self, ctx: Context, query: ListQuery, fields: set[str] | None = None
             ) -> list[dict]:
        def run(session: Session) -> list[dict]:
            stmt = select(SP).where(*filter_clauses(SP, query, PROFILE_COLUMNS))
            rows = fetch_page(session, stmt, query, PROFILE_COLUMNS, SP,
                              lambda i: fr.ServiceProfileNotFound(sp_id=i))
            return [self.to_dict(r) for r in rows]
        return self.deps.db.run(run, write=False)

    def _check_driver(self, driver: str) -> None:
        if not self.providers.by_driver(driver):
            raise fr.ServiceProfileDriverNotFound(driver=driver)

    def create_bulk(self, ctx: Context, items: list[dict],
                    authorize: Authorize = common.allow_all) -> list[dict]:
        for data in items:
            if data["driver"]:
                self._check_driver(data["driver"])
            elif not data["metainfo"]:
                raise fr.ServiceProfileEmpty()

        def create(session: Session, data: dict) -> SP:
            authorize(data, dict(data))
            row = SP(id=common.new_id(), description=data["description"],
                     driver=data["driver"], enabled=data["enabled"],
                     metainfo=data["metainfo"])
            session.add(row)
            return row
        return common.create_all(self.deps, "service_profile", ctx, items, create,
                                 lambda s, rows: [self.to_dict(r) for r in rows])

    def _check_unused(self, session: Session, sp_id: str) -> None:
        if session.scalar(select(B.flavor_id).where(B.service_profile_id == sp_id)
                          .limit(1)) is not None:
            raise fr.ServiceProfileInUse(sp_id=sp_id)

    def update(self, ctx: Context, sp_id: str, data: dict,
               revision: int | None = None) -> dict:
        if data.get("driver"):
            self._check_driver(data["driver"])

        def run(session: Session) -> dict:
            row = _profile(session, sp_id, lock=True)
            self._check_unused(session, sp_id)
            for key in ("description", "driver", "enabled", "metainfo"):
                if key in data:
                    setattr(row, key, data[key])
            session.flush()
            return self.to_dict(row)
        return self.deps.db.run(run)

    def delete(self, ctx: Context, sp_id: str, revision: int | None = None) -> None:
        def run(session: Session) -> None:
            row = _profile(session, sp_id, lock=True)
            self._check_unused(session, sp_id)
            session.delete(row)
        self.deps.db.run(run)
