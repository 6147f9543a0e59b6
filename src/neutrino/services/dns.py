"""DNS attributes of ports and networks (dns-integration, dns-domain-ports).

As upstream without an external DNS service: a network's `dns_domain` is stored as
given; a port's `dns_name` / `dns_domain` are stored only while the `dns_domain`
option is set to something other than `openstacklocal` (otherwise they are accepted,
checked and ignored, and read back as ""). `dns_assignment` is computed on every
read from the port's fixed IPs, its dns_name and the `dns_domain` option.
"""

from __future__ import annotations

from typing import Any

from oslo_config import cfg
from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.orm import Session

from neutrino.context import Context
from neutrino.db import models
from neutrino.db.listing import rows_for_ids
from neutrino.resources import dns as d
from neutrino.resources import validators as v
from neutrino.services.extensions import FilterBuilder

PD, ND = models.PortDNS, models.NetworkDNSDomain


def _filter(owner_id: Any, model: Any, key: Any, column: Any) -> FilterBuilder:
    """Filter on a value kept in a side table; "" also matches rows without one."""
    def clause(values: list[str]) -> Any:
        wanted = [value.lower() for value in values]
        matches = owner_id.in_(select(key).where(column.in_(wanted)))
        if "" in wanted:
            return or_(matches, owner_id.not_in(select(key).where(column != "")))
        return matches
    return clause


class PortDNS:
    """dns_name, dns_domain and dns_assignment of ports."""

    attribute = d.DNS_NAME
    attributes = (d.DNS_NAME, d.DNS_DOMAIN, d.DNS_ASSIGNMENT)

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf

    @property
    def domain(self) -> str:
        return d.dotted(self.conf.dns_domain)

    @property
    def active(self) -> bool:
        """Whether ports' DNS attributes are kept (upstream ignores them while the
        option is empty or the default)."""
        return bool(self.domain) and self.domain != d.DNS_DOMAIN_DEFAULT

    def _check(self, data: dict) -> None:
        error = d.dns_name_domain_error(data.get(d.DNS_NAME) or "", self.conf.dns_domain)
        if error:
            raise v.bad(d.DNS_NAME, error)

    def create(self, session: Session, ctx: Context, data: dict, item: dict) -> None:
        self._check(data)
        name, domain = data.get(d.DNS_NAME) or "", data.get(d.DNS_DOMAIN) or ""
        if not self.active:
            name = domain = ""
        if name or domain:
            session.execute(insert(PD).values(port_id=item["id"], dns_name=name,
                                               dns_domain=domain))
        self._set(item, name, domain)

    def update(self, session: Session, ctx: Context, data: dict, old: dict,
               item: dict) -> None:
        changes = {key: data[key] for key in (d.DNS_NAME, d.DNS_DOMAIN) if key in data}
        self._check(changes)
        name, domain = old.get(d.DNS_NAME, ""), old.get(d.DNS_DOMAIN, "")
        if changes and self.active:
            name = changes.get(d.DNS_NAME, name)
            domain = changes.get(d.DNS_DOMAIN, domain)
            done = session.execute(update(PD).where(PD.port_id == item["id"])
                                   .values(dns_name=name, dns_domain=domain))
            if done.rowcount == 0:
                session.execute(insert(PD).values(port_id=item["id"], dns_name=name,
                                                  dns_domain=domain))
        self._set(item, name, domain)

    def extend(self, session: Session, items: list[dict]) -> None:
        rows: dict[str, tuple[str, str]] = {}
        if self.active:  # otherwise nothing stored counts (and lists skip a query)
            rows = {port_id: (name, domain) for port_id, name, domain in rows_for_ids(
                session, select(PD.port_id, PD.dns_name, PD.dns_domain), PD.port_id,
                [i["id"] for i in items])}
        for item in items:
            self._set(item, *rows.get(item["id"], ("", "")))

    def _set(self, item: dict, name: str, domain: str) -> None:
        item[d.DNS_NAME] = name
        item[d.DNS_DOMAIN] = domain
        item[d.DNS_ASSIGNMENT] = d.dns_assignment(item.get("fixed_ips") or [], name,
                                                  self.domain)

    def filters(self) -> dict[str, FilterBuilder]:
        port_id = models.Port.id
        return {d.DNS_NAME: _filter(port_id, PD, PD.port_id, PD.dns_name),
                d.DNS_DOMAIN: _filter(port_id, PD, PD.port_id, PD.dns_domain)}


class NetworkDNS:
    """dns_domain of networks."""

    attribute = d.DNS_DOMAIN

    def create(self, session: Session, ctx: Context, data: dict, item: dict) -> None:
        domain = data.get(d.DNS_DOMAIN) or ""
        if domain:
            session.execute(insert(ND).values(network_id=item["id"], dns_domain=domain))
        item[d.DNS_DOMAIN] = domain

    def update(self, session: Session, ctx: Context, data: dict, old: dict,
               item: dict) -> None:
        if d.DNS_DOMAIN not in data:
            return
        domain = data[d.DNS_DOMAIN] or ""
        session.execute(delete(ND).where(ND.network_id == item["id"]))
        if domain:
            session.execute(insert(ND).values(network_id=item["id"], dns_domain=domain))
        item[d.DNS_DOMAIN] = domain

    def extend(self, session: Session, items: list[dict]) -> None:
        domains = dict(rows_for_ids(session, select(ND.network_id, ND.dns_domain),
                                    ND.network_id, [i["id"] for i in items]))
        for item in items:
            item[d.DNS_DOMAIN] = domains.get(item["id"], "")

    def filters(self) -> dict[str, FilterBuilder]:
        return {d.DNS_DOMAIN: _filter(models.Network.id, ND, ND.network_id,
                                      ND.dns_domain)}
