"""``report_state`` on q-reports-plugin: an agent's heartbeat (docs/rpc.md)."""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict


class AgentState(TypedDict):
    """What an agent reports; the server answers a `ReportAnswer`."""

    agent_type: str          # topics.AGENT_TYPE_*
    binary: str
    topic: str
    host: NotRequired[str]   # StateReporter fills in its own host when missing
    configurations: NotRequired[dict[str, object]]  # free-form, shown in /v2.0/agents
    availability_zone: NotRequired[str]
    start_flag: NotRequired[bool]          # only in the first report after a start
    load: NotRequired[int]
    resource_versions: NotRequired[dict[str, str]]


# "invalid": agent_type, binary, topic or host missing (the report is ignored).
ReportAnswer = Literal["new", "alive", "revived", "invalid"]
