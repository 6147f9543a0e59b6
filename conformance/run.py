"""`make conformance`: upstream's API tests against Neutrino with a real Keystone.

Run with the project's venv (`.venv/bin/python conformance/run.py`); the Makefile
first installs Keystone and tempest + neutron-tempest-plugin in their own venvs
(.conformance/keystone-venv, .conformance/tempest-venv). Steps:

1. Keystone 30 on SQLite, one gunicorn worker on a free loopback port: db_sync,
   fernet and credential keys, bootstrap (admin user/project/role, RegionOne,
   identity endpoint), the roles tempest uses, a `service` project with the
   `neutron` user auth_token validates with, and the `network` service + endpoints.
2. Neutrino in Keystone mode on a fresh PostgreSQL database (dropped at the end),
   `api_workers` (2) workers on RabbitMQ; as root, this host's Linux bridge, DHCP, L3
   and metadata agents as their own processes on the same bus (the embedded
   all-in-one agents need a single API worker). Its own exchange and host name keep
   it apart from anything else on the broker, and as root a RabbitMQ vhost of its own
   (deleted at the end): other servers' consumers of the same queues would answer
   its agents otherwise; the agents touch only what they marked
   with that host (docs/agents.md, "Ownership"), so other agents and tests on the
   machine are safe from them.
3. As admin through the API: the external network `public` (flat) and its subnet, and
   devstack's two shared default subnet pools (IPv4 and IPv6).
4. tempest.conf from conformance/tempest.conf.in; `[network-feature-enabled]
   api_extensions` is what the server lists (GET /v2.0/extensions), or stock Neutron
   29's list (conformance/neutron-29-extensions.txt) with CONFORMANCE_EXTENSIONS=neutron29.
5. `tempest run` of both suites (CONFORMANCE_REGEX), concurrency 2; the results
   compared with conformance/expected-failures.txt (conformance/report.py).
6. Everything started is stopped by pid (also on Ctrl-C / SIGTERM / failure), the
   agents' leftovers (found by their marks) removed, the database dropped.

Exit status 1 on an unexpected failure (or when the run itself breaks), 0 otherwise.
Logs and the tempest workspace stay in .conformance/run/ until the next run.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import psycopg

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import report  # noqa: E402

WORK = Path(os.environ.get("CONFORMANCE_WORK", ROOT / ".conformance"))
RUN = WORK / "run"
KEYSTONE_VENV = Path(os.environ.get("KEYSTONE_VENV", WORK / "keystone-venv")).resolve()
TEMPEST_VENV = Path(os.environ.get("TEMPEST_VENV", WORK / "tempest-venv")).resolve()
NEUTRINO_BIN = Path(sys.executable).parent  # .venv/bin

REGEX = os.environ.get("CONFORMANCE_REGEX",
                       r"^(tempest\.api\.network|neutron_tempest_plugin\.api)\.")
EXTENSIONS = os.environ.get("CONFORMANCE_EXTENSIONS", "server")
AGENTS = os.environ.get("CONFORMANCE_AGENTS", "auto")  # auto (root) | none
WORKERS = int(os.environ.get("CONFORMANCE_WORKERS", "2"))
CONCURRENCY = int(os.environ.get("CONFORMANCE_CONCURRENCY", "2"))
PG = os.environ.get("CONFORMANCE_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
RABBIT = os.environ.get("CONFORMANCE_RABBIT", "rabbit://guest:guest@127.0.0.1:5672/")
EXPECTED = HERE / "expected-failures.txt"
NEUTRON29 = HERE / "neutron-29-extensions.txt"

ADMIN_PASSWORD = "conformance-admin"
NEUTRON_PASSWORD = "conformance-neutron"
REGION = "RegionOne"
TAG = f"conformance-{os.getpid()}"
DB_NAME = f"neutrino_conformance_{os.getpid()}"
# VXLAN ids of this run's project networks: within the 1-2000 neutron-tempest-plugin
# expects of a default range, away from the 1:1000 the test suite and `make run` use
# (leftovers are recognisably ours).
VNI_MIN, VNI_MAX = 1001, 2000


def say(message: str) -> None:
    print(f"conformance: {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(what: str, check: Callable[[], bool], timeout: float,
             proc: Proc | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited ({proc.popen.returncode}) before "
                               f"{what}; see {proc.log}")
        try:
            if check():
                return
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")


class Proc:
    """A child in its own session (so its children too), stopped by its pid."""

    def __init__(self, name: str, argv: list[str], log: Path,
                 env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        self.name, self.log = name, log
        with open(log, "ab") as out:
            self.popen = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, env=env, cwd=cwd,
                                          start_new_session=True)

    def stop(self, timeout: float = 20) -> None:
        if self.popen.poll() is not None:
            return
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()
        except ProcessLookupError:
            pass


def run(argv: list[str], log: Path, **kwargs: Any) -> None:
    with open(log, "ab") as out:
        done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, **kwargs)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv[:3]))} failed "
                           f"({done.returncode}); see {log}")


# -- Keystone -----------------------------------------------------------------------


class Keystone:
    def __init__(self, url: str) -> None:
        self.url = url
        self.client = httpx.Client(base_url=url + "/v3", timeout=60)

    def token(self, user: str, password: str, project: str) -> str:
        body = {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "domain": {"id": "default"}, "password": password}}},
            "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
        response = self.client.post("/auth/tokens", json=body)
        response.raise_for_status()
        return response.headers["X-Subject-Token"]

    def login(self) -> None:
        self.client.headers["X-Auth-Token"] = self.token("admin", ADMIN_PASSWORD, "admin")

    def ensure(self, collection: str, name: str, **attrs: Any) -> str:
        """The id of the named object of a collection, created when missing."""
        singular = collection[:-1]
        found = self.client.get(f"/{collection}", params={"name": name})
        found.raise_for_status()
        if found.json()[collection]:
            return found.json()[collection][0]["id"]
        created = self.client.post(f"/{collection}", json={singular: {"name": name,
                                                                      **attrs}})
        created.raise_for_status()
        return created.json()[singular]["id"]

    def grant(self, project: str, user: str, role: str) -> None:
        self.client.put(f"/projects/{project}/users/{user}/roles/{role}").raise_for_status()

    def register_network(self, neutrino_url: str) -> None:
        service = self.client.post("/services", json={"service": {
            "type": "network", "name": "neutron", "description": "Neutrino"}})
        service.raise_for_status()
        service_id = service.json()["service"]["id"]
        for interface in ("public", "internal", "admin"):
            self.client.post("/endpoints", json={"endpoint": {
                "service_id": service_id, "interface": interface, "url": neutrino_url,
                "region_id": REGION}}).raise_for_status()


def start_keystone(stack: ExitStack) -> Keystone:
    kdir = RUN / "keystone"
    kdir.mkdir(parents=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    conf = kdir / "keystone.conf"
    conf.write_text(f"""[DEFAULT]
[database]
# Wait for SQLite's write lock instead of failing (pysqlite's default is 5 s).
connection = sqlite:///{kdir}/keystone.sqlite?timeout=60
[token]
provider = fernet
[fernet_tokens]
key_repository = {kdir}/fernet-keys
[fernet_receipts]
key_repository = {kdir}/fernet-keys
[credential]
key_repository = {kdir}/credential-keys
[identity]
# The least bcrypt work: tempest creates (and logs in) hundreds of users.
password_hash_rounds = 4
[cache]
enabled = false
""")
    manage = [str(KEYSTONE_VENV / "bin/keystone-manage"), "--config-file", str(conf)]
    log = RUN / "keystone-manage.log"
    say(f"Keystone: setting up {kdir}")
    run(manage + ["db_sync"], log)
    owner = ["--keystone-user", pwd.getpwuid(os.getuid()).pw_name,
             "--keystone-group", grp.getgrgid(os.getgid()).gr_name]
    run(manage + ["fernet_setup", *owner], log)
    run(manage + ["credential_setup", *owner], log)
    run(manage + ["bootstrap", "--bootstrap-password", ADMIN_PASSWORD,
                  "--bootstrap-username", "admin", "--bootstrap-project-name", "admin",
                  "--bootstrap-role-name", "admin", "--bootstrap-service-name", "keystone",
                  "--bootstrap-region-id", REGION, "--bootstrap-admin-url", url,
                  "--bootstrap-public-url", url, "--bootstrap-internal-url", url], log)
    env = dict(os.environ, OS_KEYSTONE_CONFIG_FILES=str(conf))
    proc = Proc("keystone", [str(KEYSTONE_VENV / "bin/python"), str(HERE / "keystone_wsgi.py"),
                             f"127.0.0.1:{port}"], RUN / "keystone.log", env=env)
    stack.callback(proc.stop)
    wait_for("Keystone", lambda: httpx.get(url + "/v3", timeout=2).status_code == 200,
             120, proc)
    keystone = Keystone(url)
    keystone.login()
    roles = {name: keystone.ensure("roles", name)
             for name in ("admin", "member", "reader", "service")}
    service_project = keystone.ensure("projects", "service", domain_id="default")
    neutron_user = keystone.ensure("users", "neutron", domain_id="default",
                                   password=NEUTRON_PASSWORD)
    for role in ("admin", "service"):
        keystone.grant(service_project, neutron_user, roles[role])
    say(f"Keystone: {url} (admin, member, reader, service roles; user neutron)")
    return keystone


# -- Neutrino -----------------------------------------------------------------------


def private_vhost(stack: ExitStack) -> str:
    """This run's own RabbitMQ vhost (deleted at the end), so that no other server on
    the broker answers its agents: queue names (q-plugin, q-reports-plugin) and fanout
    exchanges do not depend on control_exchange, and an agent's heartbeat answered
    by another test's server is lost to this one. Without rabbitmqctl (not root, a
    remote broker): the shared vhost of CONFORMANCE_RABBIT."""
    if shutil.which("rabbitmqctl") is None or os.geteuid() != 0:
        say("no rabbitmqctl (or not root): sharing the broker's vhost with whatever "
            "else uses it")
        return RABBIT

    def ctl(*args: str) -> None:
        subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True,
                       timeout=120, check=True)
    def delete() -> None:
        try:
            ctl("delete_vhost", TAG)
        except (subprocess.SubprocessError, OSError) as error:
            say(f"could not delete RabbitMQ vhost {TAG}: {error}")
    ctl("add_vhost", TAG)
    stack.callback(delete)
    ctl("set_permissions", "-p", TAG, "guest", ".*", ".*", ".*")
    return RABBIT.rstrip("/") + "/" + TAG


def neutrino_conf(port: int, keystone_url: str, db_url: str, rabbit: str) -> str:
    return f"""[DEFAULT]
bind_host = 127.0.0.1
bind_port = {port}
api_workers = {WORKERS}
state_path = {RUN / "neutrino"}
auth_strategy = keystone
transport_url = {rabbit}
control_exchange = {TAG}
host = {TAG}
embedded_agents = false
# What neutron-tempest-plugin's jobs set (its [neutron_plugin_options] dns_domain).
dns_domain = openstackgate.local
# The metadata agent answers from Neutrino's own data (no Nova here).
metadata_upstream = builtin

[database]
connection = {db_url}

[ml2]
type_drivers = local,flat,vlan,vxlan,gre,geneve
tenant_network_types = vxlan
mechanism_drivers = linuxbridge

[ml2_type_flat]
flat_networks = *

[ml2_type_vlan]
# "foo": tempest's provider_vlans; project VLAN networks on it are allocated here.
network_vlan_ranges = foo:1:100,public

[ml2_type_vxlan]
vni_ranges = {VNI_MIN}:{VNI_MAX}

[quotas]
# What neutron-tempest-plugin's jobs set (their [QUOTAS]): test_routers' RoutersTest
# makes 11 routers in its class's project, beyond the default 10.
quota_router = 100
quota_floatingip = 500
quota_security_group = 150
quota_security_group_rule = 1000

[keystone_authtoken]
www_authenticate_uri = {keystone_url}
auth_url = {keystone_url}
auth_type = password
username = neutron
password = {NEUTRON_PASSWORD}
project_name = service
user_domain_name = Default
project_domain_name = Default
region_name = {REGION}

[vxlan]
local_ip = 127.0.0.1
"""


def create_database(stack: ExitStack) -> str:
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    stack.callback(drop_database)
    base = PG.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{DB_NAME}"


def drop_database() -> None:
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


def start_neutrino(stack: ExitStack, keystone: Keystone) -> tuple[str, Path]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    db_url = create_database(stack)
    (RUN / "neutrino").mkdir()
    conf = RUN / "neutrino.conf"
    conf.write_text(neutrino_conf(port, keystone.url, db_url, private_vhost(stack)))
    run([str(NEUTRINO_BIN / "neutrino-db-manage"), "--config-file", str(conf),
         "upgrade", "head"], RUN / "neutrino-db-manage.log")
    keystone.register_network(url)
    proc = Proc("neutrino-server", [str(NEUTRINO_BIN / "neutrino-server"),
                                    "--config-file", str(conf)],
                RUN / "neutrino-server.log")
    stack.callback(proc.stop)
    wait_for("neutrino-server", lambda: httpx.get(url + "/", timeout=2).status_code == 200,
             60, proc)
    say(f"Neutrino: {url}, {WORKERS} API workers, PostgreSQL database {DB_NAME}")
    return url, conf


AGENT_BINARIES = ("neutrino-linuxbridge-agent", "neutrino-dhcp-agent",
                  "neutrino-l3-agent", "neutrino-metadata-agent")


def start_agents(stack: ExitStack, conf: Path, api: httpx.Client) -> str:
    if AGENTS == "none":
        return "no agents (CONFORMANCE_AGENTS=none)"
    if os.geteuid() != 0:
        return "no agents (not root)"
    # Stopping is registered before starting: the cleanup of what they built must
    # run after they are stopped (ExitStack unwinds in reverse).
    stack.callback(clean_dataplane)
    agents = []
    for binary in AGENT_BINARIES:
        proc = Proc(binary, [str(NEUTRINO_BIN / binary), "--config-file", str(conf)],
                    RUN / f"{binary}.log")
        stack.callback(proc.stop)
        agents.append(proc)

    def registered() -> bool:
        listed = api.get("/v2.0/agents").json()["agents"]
        return sum(1 for a in listed if a["host"] == TAG and a["alive"]) == len(agents)
    for proc in agents:
        wait_for(f"{proc.name} to register", registered, 90, proc)
    return f"Linux bridge, DHCP, L3 and metadata agents as processes, host {TAG}"


def clean_dataplane() -> None:
    """What the agents left (they leave their dataplane when stopped), found by the
    marks they put on what they make (host = this run's TAG): the DHCP and router
    namespaces (with the processes in them and their links, so the taps too) and the
    bridges and VXLAN devices. Nothing another agent or test made is touched."""
    # The project's own venv runs this script: the agents' privileged module.
    from neutrino.agent.common import privileged
    marks = {f"neutrino-dhcp-agent host={TAG}", f"neutrino-l3-agent host={TAG}"}
    gone = []
    for namespace in privileged.namespaces():
        if (namespace.startswith(("qdhcp-", "qrouter-"))
                and privileged.namespace_alias(namespace) in marks):
            privileged.delete_namespace(namespace)
            gone.append(namespace)
    with privileged.Kernel() as kernel:
        for link in kernel.links().values():
            if link.alias == f"neutrino-linuxbridge-agent host={TAG}":
                kernel.delete(link.name)
                gone.append(link.name)
    if gone:
        say(f"removed what the agents left: {len(gone)} namespace(s) and device(s)")


# -- the run ------------------------------------------------------------------------


def neutron_api(url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=60, headers={"X-Auth-Token": token})


def create_public_network(api: httpx.Client, stack: ExitStack,
                          fresh_api: Callable[[], httpx.Client]) -> str:
    response = api.post("/v2.0/networks", json={"network": {
        "name": "public", "router:external": True, "provider:network_type": "flat",
        "provider:physical_network": "public"}})
    response.raise_for_status()
    network_id = response.json()["network"]["id"]
    stack.callback(delete_public_network, fresh_api, network_id)
    api.post("/v2.0/subnets", json={"subnet": {
        "name": "public-subnet", "network_id": network_id, "ip_version": 4,
        "cidr": "172.24.4.0/24", "gateway_ip": "172.24.4.1",
        "enable_dhcp": False}}).raise_for_status()
    return network_id


# devstack's default subnet pools (shared, is_default; its SUBNETPOOL_PREFIX_V4/_V6 and
# _SIZE_V4/_V6): what neutron-tempest-plugin's gate has, and what its auto-allocated-
# topology tests need (they skip without one). Away from tempest.conf's CIDRs.
DEFAULT_SUBNETPOOLS = (("shared-default-subnetpool-v4", "10.0.0.0/22", 26),
                       ("shared-default-subnetpool-v6", "fd36:1b5c:e70e::/56", 64))


def create_default_subnetpools(api: httpx.Client) -> None:
    for name, prefix, length in DEFAULT_SUBNETPOOLS:
        api.post("/v2.0/subnetpools", json={"subnetpool": {
            "name": name, "prefixes": [prefix], "default_prefixlen": length,
            "shared": True, "is_default": True}}).raise_for_status()


def delete_public_network(fresh_api: Callable[[], httpx.Client], network_id: str) -> None:
    """Best effort (the database is dropped anyway): lets the agents clean up."""
    try:
        api = fresh_api()  # the first token may have expired during the run
        _delete_public_network(api, network_id)
    except httpx.HTTPError as error:
        say(f"could not delete the public network: {error}")


def _delete_public_network(api: httpx.Client, network_id: str) -> None:
    for port in api.get("/v2.0/ports", params={"network_id": network_id}).json()["ports"]:
        if port["device_owner"] == "network:router_gateway":
            api.put(f"/v2.0/routers/{port['device_id']}",
                    json={"router": {"external_gateway_info": None}})
    for fip in api.get("/v2.0/floatingips",
                       params={"floating_network_id": network_id}).json()["floatingips"]:
        api.delete(f"/v2.0/floatingips/{fip['id']}")
    api.delete(f"/v2.0/networks/{network_id}")


def extension_list(api: httpx.Client) -> list[str]:
    if EXTENSIONS == "neutron29":
        return [line.strip() for line in NEUTRON29.read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    if EXTENSIONS != "server":
        raise SystemExit(f"CONFORMANCE_EXTENSIONS={EXTENSIONS}: 'server' or 'neutron29'")
    response = api.get("/v2.0/extensions")
    response.raise_for_status()
    return sorted(ext["alias"] for ext in response.json()["extensions"])


def write_tempest_conf(workspace: Path, keystone_url: str, public_network_id: str,
                       extensions: list[str]) -> Path:
    template = string.Template((HERE / "tempest.conf.in").read_text())
    conf = workspace / "etc" / "tempest.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text(template.substitute(
        log_dir=workspace, admin_password=ADMIN_PASSWORD, keystone_url=keystone_url,
        public_network_id=public_network_id, api_extensions=",".join(extensions)))
    return conf


def run_tempest(stack: ExitStack, workspace: Path, conf: Path) -> Path:
    env = dict(os.environ, PATH=f"{TEMPEST_VENV / 'bin'}:{os.environ['PATH']}")
    log = RUN / "tempest-run.log"
    say(f"tempest: running {REGEX} with concurrency {CONCURRENCY} (progress: {log})")
    proc = Proc("tempest", [str(TEMPEST_VENV / "bin/tempest"), "run", "--config-file",
                            str(conf), "--regex", REGEX, "--concurrency",
                            str(CONCURRENCY)], log, env=env, cwd=workspace)
    stack.callback(proc.stop)
    proc.popen.wait()
    # The results as CSV (conformance/report.py reads it without python-subunit).
    results = RUN / "results.csv"
    subunit = subprocess.run([str(TEMPEST_VENV / "bin/stestr"), "last", "--subunit"],
                             cwd=workspace, env=env, capture_output=True, check=True)
    # subunit2csv exits 1 when a test failed: its output is what counts.
    csv_text = subprocess.run([str(TEMPEST_VENV / "bin/subunit2csv")], input=subunit.stdout,
                              capture_output=True, env=env).stdout
    if not csv_text.startswith(b"test,status"):
        raise RuntimeError(f"no results from tempest; see {log}")
    results.write_bytes(csv_text)
    return results


def server_errors() -> list[str]:
    log = RUN / "neutrino-server.log"
    if not log.exists():
        return []
    return [line.rstrip() for line in log.read_text(errors="replace").splitlines()
            if "Traceback" in line or " 500 " in line]


def conformance() -> int:
    if RUN.exists():
        shutil.rmtree(RUN)
    RUN.mkdir(parents=True)
    started = time.monotonic()
    subprocess.run([str(ROOT / "scripts/ensure-services.sh")], check=True,
                   env=dict(os.environ, NEUTRINO_SERVICES="postgresql rabbitmq"))
    with ExitStack() as stack:
        keystone = start_keystone(stack)
        url, conf = start_neutrino(stack, keystone)
        def fresh_api() -> httpx.Client:
            return neutron_api(url, keystone.token("admin", ADMIN_PASSWORD, "admin"))
        api = fresh_api()
        agents = start_agents(stack, conf, api)
        say(f"agents: {agents}")
        public = create_public_network(api, stack, fresh_api)
        create_default_subnetpools(api)
        extensions = extension_list(api)
        say(f"extensions given to tempest: {EXTENSIONS} ({len(extensions)})")
        workspace = RUN / "tempest"
        workspace.mkdir()
        tempest_conf = write_tempest_conf(workspace, keystone.url, public, extensions)
        results_file = run_tempest(stack, workspace, tempest_conf)
        say(f"tempest finished after {(time.monotonic() - started) / 60:.1f} min; "
            "stopping everything")
    results = report.parse_results(results_file.read_text())
    expected = report.parse_expected(EXPECTED.read_text())
    outcome = report.compare(results, expected)
    errors = server_errors()
    if errors:
        say(f"{len(errors)} Traceback / 500 lines in {RUN / 'neutrino-server.log'}:")
        for line in errors[:20]:
            print(f"  {line}")
    say(f"agents: {agents}; extensions: {EXTENSIONS}; "
        f"{(time.monotonic() - started) / 60:.1f} min; logs in {RUN}")
    for line in report.render(outcome, expected):
        print(line)
    return 0 if outcome.ok else 1


def main() -> int:
    # SIGTERM unwinds like Ctrl-C: the ExitStack stops everything by pid.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        return conformance()
    except (RuntimeError, httpx.HTTPError, psycopg.Error,
            subprocess.CalledProcessError) as error:
        say(f"ERROR: {error}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
