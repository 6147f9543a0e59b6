"""RBAC without a server: object types, the wildcard policy rules and which projects a
policy's removal would cut off (on an in-memory SQLite schema)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from neutrino import conf as conf_mod
from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.db import models
from neutrino.policy import Policy
from neutrino.resources.rbac_policy import InvalidActionForType, object_type_value
from neutrino.services import rbac


def test_object_types_are_normalized() -> None:
    assert object_type_value(" Network ") == "network"
    assert object_type_value("SECURITY_GROUP") == "security_group"
    for bad in ("bogus", 7, None, ""):
        with pytest.raises(exc.InvalidInput) as err:
            object_type_value(bad)
        assert err.value.msg == (f"Invalid input for operation: '{bad}' is not a valid "
                                 "RBAC object type.")


def test_invalid_action_message() -> None:
    err = InvalidActionForType(action="x", object_type="security_group",
                               valid_actions=("access_as_shared",))
    assert err.status == 400
    assert err.msg == ("Invalid action 'x' for object type 'security_group'. Valid "
                       "actions: ('access_as_shared',)")


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    path = tmp_path / "policy.yaml"
    path.write_text("{}\n")
    return Policy(conf_mod.new_conf(), policy_file=str(path))


def test_only_admins_target_every_project(policy: Policy) -> None:
    member = Context(user_id="u", project_id="p1", roles=["member"])
    admin = Context(user_id="a", project_id="p0", roles=["admin"], is_admin=True)
    rule = "create_rbac_policy:target_tenant"
    assert policy.check(member, rule, {"target_tenant": "p2", "project_id": "p1"})
    assert not policy.check(member, rule, {"target_tenant": "*", "project_id": "p1"})
    assert policy.check(admin, rule, {"target_tenant": "*", "project_id": "p1"})
    update = "update_rbac_policy:target_tenant"
    assert policy.check(member, update, {"target_tenant": "p2", "project_id": "p1"})
    assert not policy.check(member, update, {"target_tenant": "p2", "project_id": "p9"})
    assert not policy.check(member, update, {"target_tenant": "*", "project_id": "p1"})


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    models.Base.metadata.create_all(engine)
    with Session(engine) as s:
        yield s
    engine.dispose()


def _network_with_ports(session: Session, *port_projects: str) -> str:
    session.add(models.Network(id="n1", project_id="owner", name="", description="",
                               admin_state_up=True, status="ACTIVE", mtu=1500))
    for i, project in enumerate(port_projects):
        session.add(models.Port(id=f"port{i}", project_id=project, network_id="n1",
                                mac_address=f"fa:16:3e:00:00:0{i}", name="",
                                description="", device_id="", device_owner=""))
    session.flush()
    return "n1"


def cut_off(session: Session, target: str, policy_id: str, new_target: str | None = None
            ) -> set[str]:
    return rbac.projects_cut_off(session, "network", "n1", "owner", rbac.SHARED, target,
                                 exclude_id=policy_id, new_target=new_target)


def test_removal_cuts_off_projects_using_the_object(session: Session) -> None:
    net = _network_with_ports(session, "owner", "b", "c")
    for_b = rbac.add_policy(session, "network", net, rbac.SHARED, "b", "owner")
    everyone = rbac.add_policy(session, "network", net, rbac.SHARED, "*", "owner")
    # "*" covers b: b's own policy may go; "*" may not (c depends on it only).
    assert cut_off(session, "b", for_b) == set()
    assert cut_off(session, "*", everyone) == {"c"}
    # Moving "*" to c keeps c; b has its own policy.
    assert cut_off(session, "*", everyone, new_target="c") == set()
    rbac.delete_policies(session, "network", net, rbac.SHARED, "*")
    assert cut_off(session, "b", for_b) == {"b"}
    assert cut_off(session, "b", for_b, new_target="b") == set()
    # The owner's own policy (self-sharing) never matters.
    own = rbac.add_policy(session, "network", net, rbac.SHARED, "owner", "owner")
    assert cut_off(session, "owner", own) == set()


def test_shared_with_and_visibility(session: Session) -> None:
    net = _network_with_ports(session)
    assert rbac.shared_ids(session, "network", [net], "b") == set()
    rbac.add_policy(session, "network", net, rbac.SHARED, "b", "owner")
    assert rbac.is_shared_with(session, "network", net, "b")
    assert not rbac.is_shared_with(session, "network", net, "c")
    assert rbac.shared_ids(session, "network", [net], None) == set()
    # Adding the same policy twice keeps one.
    first = rbac.add_policy(session, "network", net, rbac.EXTERNAL, "*", "owner")
    assert rbac.add_policy(session, "network", net, rbac.EXTERNAL, "*", "owner") == first
    visible = session.scalars(models.Network.__table__.select().with_only_columns(
        models.Network.id).where(rbac.visible_clause(
            models.Network, "network", Context(project_id="c"),
            (rbac.SHARED, rbac.EXTERNAL)))).all()
    assert visible == [net]
    rbac.delete_for_object(session, "network", net)
    assert not rbac.is_shared_with(session, "network", net, "b")
