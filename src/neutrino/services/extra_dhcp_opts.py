"""Extra DHCP options of ports (extradhcpopts)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from neutrino.context import Context
from neutrino.db import models
from neutrino.db.listing import rows_for_ids
from neutrino.resources.extra_dhcp_opts import EXTRA_DHCP_OPTS, is_stored_value
from neutrino.resources.port import UNSET
from neutrino.services import common
from neutrino.services.extensions import FilterBuilder

EDO = models.ExtraDhcpOpt


def _sorted(opts: list[dict]) -> list[dict]:
    return sorted(opts, key=lambda o: (o["opt_name"], o["ip_version"]))


class ExtraDhcpOpts:

    attribute = "extra_dhcp_opts"
    def create(self, session: Session, ctx: Context, data: dict, item: dict) -> None:
        requested = data.get(EXTRA_DHCP_OPTS, UNSET)
        opts = [] if requested is UNSET or requested is None else [
            o for o in requested if is_stored_value(o["opt_name"], o["opt_value"])]
        if opts:
            session.connection().execute(insert(EDO), [
                dict(o, id=common.new_id(), port_id=item["id"]) for o in opts])
        item[EXTRA_DHCP_OPTS] = _sorted(opts)

    def update(self, session: Session, ctx: Context, data: dict, old: dict,
               item: dict) -> None:
        """Merge by (opt_name, ip_version): null removes, a value adds or replaces."""
        requested = data.get(EXTRA_DHCP_OPTS)
        if not requested:
            return
        connection = session.connection()
        current = {(o["opt_name"], o["ip_version"]): o for o in item[EXTRA_DHCP_OPTS]}
        for opt in requested:
            key = (opt["opt_name"], opt["ip_version"])
            where = (EDO.port_id == item["id"], EDO.opt_name == key[0],
                     EDO.ip_version == key[1])
            if key in current:
                if opt["opt_value"] is None:
                    connection.execute(delete(EDO).where(*where))
                    del current[key]
                elif (is_stored_value(key[0], opt["opt_value"])
                      and opt["opt_value"] != current[key]["opt_value"]):
                    connection.execute(update(EDO).where(*where)
                                       .values(opt_value=opt["opt_value"]))
                    current[key] = opt
            elif is_stored_value(key[0], opt["opt_value"]):
                connection.execute(insert(EDO), dict(opt, id=common.new_id(),
                                                     port_id=item["id"]))
                current[key] = opt
        item[EXTRA_DHCP_OPTS] = _sorted(list(current.values()))

    def extend(self, session: Session, items: list[dict]) -> None:
        stmt = select(EDO.port_id, EDO.opt_name, EDO.opt_value, EDO.ip_version)
        by_port: dict[str, list[dict]] = defaultdict(list)
        for port_id, name, value, version in rows_for_ids(session, stmt, EDO.port_id,
                                                          [i["id"] for i in items]):
            by_port[port_id].append({"opt_name": name, "opt_value": value,
                                     "ip_version": version})
        for item in items:
            item[EXTRA_DHCP_OPTS] = _sorted(by_port.get(item["id"], []))

    def filters(self) -> dict[str, FilterBuilder]:
        return {}
