"""The CLI through Keystone: a clouds.yaml cloud (``--os-cloud``) and the OS_*
variables, a keystoneauth password login against the fake Keystone of the API's
Keystone tests, the token validated by the server's keystonemiddleware."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.test_keystone import FakeKeystone
from backends import database
from server import BIN, ServerProcess


@pytest.fixture(scope="module")
def keystone() -> Iterator[FakeKeystone]:
    with FakeKeystone() as fake:
        # The fake's password login always hands out this token: make it valid.
        fake.tokens["service-token"] = fake.token("service", ["admin", "service"])
        yield fake


@pytest.fixture(scope="module")
def authed_server(keystone: FakeKeystone, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[ServerProcess]:
    state = tmp_path_factory.mktemp("cli-keystone")
    extra = ("auth_strategy = keystone\n"
             "[keystone_authtoken]\n"
             f"www_authenticate_uri = {keystone.url}\n"
             f"auth_url = {keystone.url}\n"
             "auth_type = password\n"
             "username = neutron\npassword = secret\nproject_name = service\n"
             "user_domain_name = Default\nproject_domain_name = Default\n"
             "[DEFAULT]\n")
    with database("sqlite", state) as url, ServerProcess(state, url,
                                                         extra_conf=extra) as proc:
        yield proc


def neutrino(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": env.pop("HOME", "/")}
    return subprocess.run([str(BIN / "neutrino"), *argv], env={**base, **env},
                          capture_output=True, text=True, timeout=120)


def test_os_cloud_from_clouds_yaml(keystone: FakeKeystone, authed_server: ServerProcess,
                                   tmp_path: Path) -> None:
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(
        "clouds:\n  lab:\n    auth:\n"
        f"      auth_url: {keystone.url}/v3\n"
        "      username: operator\n      password: secret\n      project_name: service\n"
        "      user_domain_name: Default\n      project_domain_name: Default\n"
        "    identity_api_version: 3\n")
    done = neutrino("--os-cloud", "lab", "--endpoint", authed_server.url, "--format",
                    "json", "status", env={"OS_CLIENT_CONFIG_FILE": str(clouds),
                                           "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["server"]["auth_strategy"] == "keystone"  # admin by its token's role
    assert doc["server"]["database"]["reachable"] is True


def test_os_variables(keystone: FakeKeystone, authed_server: ServerProcess,
                      tmp_path: Path) -> None:
    env = {"OS_AUTH_URL": f"{keystone.url}/v3", "OS_USERNAME": "operator",
           "OS_PASSWORD": "secret", "OS_PROJECT_NAME": "service",
           "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default",
           "OS_IDENTITY_API_VERSION": "3", "HOME": str(tmp_path)}
    done = neutrino("--endpoint", authed_server.url, "--format", "json", "topology",
                    env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["tree"] == []


def test_noauth_headers_get_nowhere_on_a_keystone_server(
        authed_server: ServerProcess, tmp_path: Path) -> None:
    done = neutrino("--noauth", "--endpoint", authed_server.url, "topology",
                    env={"HOME": str(tmp_path)})
    assert done.returncode == 2 and "401" in done.stderr
