"""Agents (extension ``agent``, with ``availability_zone`` on them): what reports
state over the bus. Created only by state reports; an admin may change
admin_state_up and description, or delete an agent."""

from __future__ import annotations

from neutrino import exceptions as exc
from neutrino.resources import validators as v
from neutrino.resources.attributes import Attr, Resource
from neutrino.resources.feature import Extension, Feature


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
    Attr("alive", allow_post=False, sortable=False, filter_convert=v.query_bool),
    Attr("configurations", allow_post=False, filterable=False, sortable=False),
    Attr("description", convert=_description, allow_post=False, allow_put=True),
    Attr("availability_zone", allow_post=False),
)

FEATURE = Feature(
    "agent",
    (Extension("agent", "agent", "The agent management extension.",
               "2013-02-03T10:00:00-00:00"),),
    resources=(AGENT,))
