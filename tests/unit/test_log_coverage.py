"""Security group logging on the server, pure parts: which ports a log covers
(services/desired_state/logs.py) and which log changes make agents resync
(services/log_notifier.py)."""

from __future__ import annotations

from neutrino import events
from neutrino.services.desired_state.logs import LogRef, covers, port_logs
from neutrino.services.log_notifier import changed_log

PORT, OTHER_PORT = "port-1", "port-2"
SG, OTHER_SG = "sg-1", "sg-2"


def log(log_id: str = "l1", project: str = "p", resource: str | None = None,
        target: str | None = None, event: str = "ALL") -> LogRef:
    return LogRef(log_id, project, resource, target, event)


def test_a_log_naming_a_port_covers_only_that_port() -> None:
    assert covers(log(target=PORT), PORT, "p", [])
    assert not covers(log(target=PORT), OTHER_PORT, "p", [SG])
    # With a group too: still the port (the group does not widen it), and as
    # upstream, the port's project does not matter once it is named.
    assert covers(log(target=PORT, resource=OTHER_SG), PORT, "q", [SG])


def test_a_log_naming_a_group_covers_its_members() -> None:
    assert covers(log(resource=SG), PORT, "q", [OTHER_SG, SG])
    assert not covers(log(resource=SG), PORT, "p", [OTHER_SG])
    assert not covers(log(resource=SG), PORT, "p", [])


def test_a_log_naming_neither_covers_its_projects_ports() -> None:
    assert covers(log(project="p"), PORT, "p", [])
    assert not covers(log(project="p"), PORT, "q", [SG])


def test_port_logs_sorted_by_id_with_project_and_event() -> None:
    logs = [log("l3", event="DROP"), log("l1", resource=SG, event="ACCEPT"),
            log("l2", target=OTHER_PORT), log("l0", project="other")]
    port = {"id": PORT, "security_groups": [SG]}
    assert port_logs(logs, port, "p") == [  # type: ignore[arg-type]
        {"id": "l1", "project_id": "p", "event": "ACCEPT"},
        {"id": "l3", "project_id": "p", "event": "DROP"}]


def test_changes_that_reach_the_agents() -> None:
    on, off = {"id": "l", "enabled": True}, {"id": "l", "enabled": False}
    assert changed_log(events.AFTER_CREATE, (on,)) == on
    assert changed_log(events.AFTER_CREATE, (off,)) is None
    assert changed_log(events.AFTER_DELETE, (on,)) == on
    assert changed_log(events.AFTER_DELETE, (off,)) is None
    assert changed_log(events.AFTER_UPDATE, (on, off)) == off
    assert changed_log(events.AFTER_UPDATE, (off, on)) == on
    renamed = dict(on, name="x")
    assert changed_log(events.AFTER_UPDATE, (on, renamed)) is None
