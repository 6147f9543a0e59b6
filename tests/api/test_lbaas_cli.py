"""Load balancing (issue 16) through ``openstack loadbalancer …``
(python-octaviaclient's OSC plugin, a subprocess) on the SQLite server: the CLI is
slow to start, one backend is enough."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from server import Api, ServerProcess

OPENSTACK_CLI = Path(sys.executable).parent / "openstack"


def _cli(url: str, *args: str) -> object:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env["OS_CLIENT_CONFIG_FILE"] = os.devnull
    cmd = [str(OPENSTACK_CLI), "--os-auth-type", "none", "--os-endpoint", url, *args]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120,
                          check=False)
    assert done.returncode == 0, f"{cmd}: {done.stdout}\n{done.stderr}"
    return json.loads(done.stdout) if done.stdout.strip() else None


def test_openstack_loadbalancer_commands(server: ServerProcess, backend: str,
                                         own_project_admin: Api) -> None:
    if backend != "sqlite":
        pytest.skip("the CLI runs against the SQLite server only")
    net = own_project_admin.network(name="cli-lb")
    subnet = own_project_admin.subnet(
        net["id"], f"10.{random.randint(128, 191)}.{random.randint(0, 255)}.0/24")
    lb = _cli(server.url, "loadbalancer", "create", "--name", "cli-lb", "--vip-subnet-id",
              subnet["id"], "--provider", "noop", "--wait", "-f", "json")
    assert isinstance(lb, dict) and lb["provisioning_status"] == "ACTIVE"
    # (the CLI takes seconds per command: the listener through the API)
    response = own_project_admin.post("/v2/lbaas/listeners", {"listener": {
        "loadbalancer_id": lb["id"], "protocol": "HTTP", "protocol_port": 80}})
    assert response.status_code == 201, response.text
    listener = response.json()["listener"]
    status = _cli(server.url, "loadbalancer", "status", "show", lb["id"])
    assert isinstance(status, dict)
    assert status["loadbalancer"]["listeners"][0]["id"] == listener["id"]
    response = own_project_admin.delete(f"/v2/lbaas/loadbalancers/{lb['id']}",
                                        params={"cascade": "true"})
    assert response.status_code == 204, response.text
    assert own_project_admin.get(f"/v2/lbaas/loadbalancers/{lb['id']}").status_code == 404
