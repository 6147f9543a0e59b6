"""Agents (extension ``agent``, with ``availability_zone`` on them): what reports
state over the bus. Created only by state reports; an admin may change
admin_state_up and description, or delete an agent.

agent_sort_key: every attribute of the agent extension but ``configurations`` is a
sort key (``alive`` too); ``availability_zone`` (another extension's) is not.
agent-resources-synced: ``resources_synced``, whether the agent's resources were
last synced to Placement (null: nothing to sync; neither filter nor sort key).
"""

from __future__ import annotations

from neutrino import exceptions as exc
from neutrino.resources import validators as v
from neutrino.resources.attributes import Attr, Resource
from neutrino.resources.feature import Extension, Feature, extension


class AgentNotFound(exc.NotFound):
    message = "Agent %(id)s could not be found."


_string = v.string("description", v.DESCRIPTION_MAX_LEN)


def _description(value: object) -> str | None:
    return None if value is None else _string(value)


AGENT = Resource("agent", "agents", not_found=AgentNotFound, not_found_key="id",
                 tag_support=False)
AGENT.add(
    Attr("id", allow_post=False),
    Attr("agent_type", allow_post=False),
    Attr("binary", allow_post=False),
    Attr("topic", allow_post=False),
    Attr("host", allow_post=False),
    Attr("admin_state_up", convert=v.to_boolean, allow_post=False, allow_put=True,
         filter_convert=v.query_bool),
    Attr("created_at", allow_post=False, filter_convert=v.query_datetime),
    Attr("started_at", allow_post=False, filter_convert=v.query_datetime),
    Attr("heartbeat_timestamp", allow_post=False, filter_convert=v.query_datetime),
    Attr("alive", allow_post=False, filter_convert=v.query_bool),
    Attr("configurations", allow_post=False, filterable=False, sortable=False),
    Attr("description", convert=_description, allow_post=False, allow_put=True),
    Attr("availability_zone", allow_post=False, sortable=False),
)

FEATURE = Feature(
    "agent",
    (Extension("agent", "agent", "The agent management extension.",
               "2013-02-03T10:00:00-00:00"),),
    resources=(AGENT,))

RESOURCES_SYNCED = "resources_synced"

AGENT_RESOURCES_SYNCED = Feature(
    "agent-resources-synced",
    (Extension("agent-resources-synced", "Agent's Resource View Synced to Placement",
               "Stores success/failure of last sync to Placement",
               "2018-12-19T00:00:00-00:00"),),
    adds={"agents": (Attr(RESOURCES_SYNCED, allow_post=False, filterable=False,
                          sortable=False),)})

# Behaviours of the attributes above (aliases only).
AGENT_SORT_KEY = extension(
    "agent_sort_key", "Agents Sort Key", "Enabling the keyword sort_key for sorting "
    "in agents.", "2013-02-03T10:00:00-00:00")
AVAILABILITY_ZONE_FILTER = extension(
    "availability_zone_filter", "Availability Zone Filter Extension",
    "Add filter parameters to AvailabilityZone resource", "2018-06-22T10:00:00-00:00")
