"""Metering (issue 14): what the metering agent asks the server and what it
publishes.

* ``get_sync_data_metering(host)`` on topic ``q-metering-plugin`` (upstream's) answers
  a `MeteringState`: the routers scheduled to the host's L3 agent that have at least
  one label (the project's labels and every shared one), each with its labels and
  their rules (services/desired_state/metering.py).
* The server casts ``add_metering_label`` / ``remove_metering_label`` /
  ``add_metering_label_rule`` / ``remove_metering_label_rule`` on the
  ``metering_agent`` fanout; an agent treats any of them (and ``l3_agent``'s
  ``routers_updated``) as "resync soon".
* The agent publishes `MeterReport`s as ``l3.meter`` notifications (oslo.messaging
  notifications, publisher ``metering.<host>``), one per label every
  ``report_interval``.
"""

from __future__ import annotations

from typing import Literal, TypedDict

# Upstream's names.
METERING_PLUGIN = "q-metering-plugin"
METERING_AGENT = "metering_agent"
AGENT_TYPE_METERING = "Metering agent"
EVENT_TYPE = "l3.meter"
PUBLISHER = "metering"

Direction = Literal["ingress", "egress"]


class MeteringRule(TypedDict):
    id: str
    direction: Direction
    excluded: bool
    # Each a CIDR or None; remote_ip_prefix never comes with the other two.
    remote_ip_prefix: str | None
    source_ip_prefix: str | None
    destination_ip_prefix: str | None


class MeteringLabel(TypedDict):
    id: str
    name: str
    shared: bool
    project_id: str | None
    rules: list[MeteringRule]


class MeteringRouter(TypedDict):
    id: str
    name: str
    project_id: str | None
    admin_state_up: bool
    # The gateway device in the router's namespace (names.router_gateway); None
    # without an external gateway: nothing is counted then (upstream's rules all
    # match on it).
    gateway_device: str | None
    labels: list[MeteringLabel]


class MeteringState(TypedDict):
    host: str
    routers: list[MeteringRouter]


class MeterReport(TypedDict):
    """One ``l3.meter`` payload, upstream's fields: counts since the previous
    report; ``time`` the seconds they cover; ``first_update``/``last_update`` epoch
    seconds of the label's first and latest measurement."""

    label_id: str
    tenant_id: str | None
    pkts: int
    bytes: int
    time: int
    first_update: int
    last_update: int
    host: str
