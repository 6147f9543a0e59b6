"""network_ha (upstream's "Network HA creation flag"): `ha` is accepted when a
network is created, recorded, never shown, and cannot change."""

from __future__ import annotations

from sqlalchemy import select

from neutrino.db import models
from neutrino.db.engine import Database
from server import Api, assert_error


def ha_networks(db: Database, network_id: str) -> list[str]:
    return db.run(lambda s: list(s.scalars(select(models.NetworkHA.network_id).where(
        models.NetworkHA.network_id == network_id))), write=False)


def test_extension_is_announced(api: Api) -> None:
    response = api.get("extensions/network_ha")
    assert response.status_code == 200, response.text
    assert response.json()["extension"]["name"] == "Network HA creation flag"


def test_ha_is_recorded_and_never_shown(own_project_admin: Api, server_db: Database) -> None:
    response = own_project_admin.post("networks", {"network": {"ha": True}})
    assert response.status_code == 201, response.text
    ha = response.json()["network"]
    assert "ha" not in ha
    assert ha_networks(server_db, ha["id"]) == [ha["id"]]
    assert "ha" not in own_project_admin.get(f"networks/{ha['id']}").json()["network"]
    plain = own_project_admin.post("networks", {"network": {}}).json()["network"]
    assert ha_networks(server_db, plain["id"]) == []
    # Deleting the network removes its record.
    assert own_project_admin.delete(f"networks/{ha['id']}").status_code == 204
    assert ha_networks(server_db, ha["id"]) == []


def test_bad_or_changed_ha_is_refused(own_project_admin: Api, server_db: Database) -> None:
    response = own_project_admin.post("networks", {"network": {"ha": "maybe"}})
    assert_error(response, 400, "InvalidInput",
                 "Invalid input for operation: 'maybe' cannot be converted to boolean.")
    net = own_project_admin.post("networks", {"network": {}}).json()["network"]
    response = own_project_admin.put(f"networks/{net['id']}", {"network": {"ha": True}})
    assert_error(response, 400, "HTTPBadRequest", "Cannot update read-only attribute ha")
    assert ha_networks(server_db, net["id"]) == []
