"""kill -9 of the server while clients create and delete ports: after a restart,
what was acknowledged is there exactly (creates with their addresses and MAC,
deletes gone), what was in flight is all or nothing, and usage counts are exact."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
from faults_fixtures import kill9, own_server, project_api, wait_for

from server import Api

CLIENTS = 4
ACKED_BEFORE_KILL = 24


def test_kill_9_during_changes_converges_exactly(backend: str, tmp_path: Path) -> None:
    with own_server(backend, tmp_path, workers=2) as server:
        api = project_api(server, backend)
        project = api.client.headers["X-Project-Id"]
        net = api.network(name="kill")
        api.subnet(net["id"], "10.7.0.0/22")
        lock = threading.Lock()
        created: dict[str, dict] = {}   # acknowledged creates
        deleted: set[str] = set()       # acknowledged deletes
        deleting: set[str] = set()      # deletes sent, answer not (yet) seen
        in_flight = 0
        stop = threading.Event()

        def client(n: int) -> None:
            nonlocal in_flight
            own = Api(server.url, project, ["admin"], backend)
            mine: list[str] = []
            while not stop.is_set():
                delete = len(mine) > 2 and len(mine) % 3 == 0
                with lock:
                    in_flight += 1
                try:
                    if delete:
                        port_id = mine.pop(0)
                        with lock:
                            deleting.add(port_id)
                        if own.delete(f"ports/{port_id}").status_code == 204:
                            with lock:
                                deleted.add(port_id)
                                deleting.discard(port_id)
                    else:
                        response = own.post("ports", {"port": {"network_id": net["id"],
                                                               "name": f"c{n}"}})
                        assert response.status_code == 201, response.text
                        port = response.json()["port"]
                        mine.append(port["id"])
                        with lock:
                            created[port["id"]] = port
                except httpx.HTTPError:
                    return  # the server is gone
                finally:
                    with lock:
                        in_flight -= 1

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        wait_for(lambda: len(created) >= ACKED_BEFORE_KILL, 120,
                 f"{ACKED_BEFORE_KILL} acknowledged creates")
        kill9(server)
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
        server.start()

        ports = {p["id"]: p for p in api.get(f"ports?network_id={net['id']}")
                 .json()["ports"]}
        # Acknowledged creates are there as answered, acknowledged deletes gone.
        assert len(deleting) <= CLIENTS
        for port_id, answered in created.items():
            if port_id in deleted:
                assert port_id not in ports
                continue
            if port_id in deleting and port_id not in ports:
                continue  # the kill came before the delete's answer: gone is right too
            assert port_id in ports, f"acknowledged port {port_id} lost"
            assert ports[port_id]["fixed_ips"] == answered["fixed_ips"]
            assert ports[port_id]["mac_address"] == answered["mac_address"]
        # Unacknowledged: at most what was in flight at the kill (each all or nothing).
        unknown = set(ports) - set(created)
        assert len(unknown) <= CLIENTS
        for port_id in unknown:
            assert len(ports[port_id]["fixed_ips"]) == 1, "a half-made port"
        addresses = [ip["ip_address"] for p in ports.values() for ip in p["fixed_ips"]]
        assert len(addresses) == len(set(addresses)), "an address given twice"
        usage = api.get(f"quotas/{project}/details").json()["quota"]["port"]
        assert usage["used"] == len(ports)
        # And the server goes on where it stopped.
        again = api.post("ports", {"port": {"network_id": net["id"]}})
        assert again.status_code == 201
        print(f"{backend}: {len(created)} creates and {len(deleted)} deletes "
              f"acknowledged before kill -9, {len(unknown)} in-flight creates committed")
