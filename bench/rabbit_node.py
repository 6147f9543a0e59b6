"""A private RabbitMQ node for a benchmark: its own ports, files, cookie and limits.

The shared broker at 127.0.0.1:5672 has 1,024 file descriptors and other sessions
on it; 200 simulated hosts (5 listener connections each, as the real Linux bridge
agent) would exhaust it, as a run once did (its rabbit application stopped). This
starts ``rabbitmq-server`` of the installed package as a node of its own instead:

* node name ``neutrino-bench-<pid>@localhost``, AMQP and distribution ports free ones
  on 127.0.0.1 (its config file sets the listener: the system's
  /etc/rabbitmq/rabbitmq.conf names 5672, and its rabbitmq-env.conf is replaced by
  an empty one);
* mnesia, logs, pid file, enabled-plugins file (none) and a HOME with an Erlang
  cookie of its own under a temporary directory, removed at the end;
* ``ulimit -n`` raised for it to 65,536 or the hard limit when lower;
* it registers with the machine's epmd (a name registry: another node name there
  disturbs nothing), or starts one if none runs;
* stopped by its pid (SIGTERM: RabbitMQ stops gracefully), the wrapper script
  waited for.

The broker's own CLI (``/usr/lib/rabbitmq/bin/rabbitmqctl``: the /usr/sbin wrapper
switches to the rabbitmq user and its cookie) talks to it with the same HOME.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")
WANTED_FILES = 65536


def available() -> str | None:
    """Why no private node can be started here (None: it can)."""
    if not (RABBIT_BIN / "rabbitmq-server").exists():
        return f"{RABBIT_BIN}/rabbitmq-server not found (Debian's rabbitmq-server package)"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _files_limit() -> int:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return WANTED_FILES if hard == resource.RLIM_INFINITY else min(WANTED_FILES, hard)


@dataclass
class RabbitNode:
    name: str
    port: int
    dist_port: int
    home: Path
    env: dict[str, str]
    pid: int = 0
    files_limit: int = 0

    @property
    def url(self) -> str:
        return f"rabbit://guest:guest@127.0.0.1:{self.port}/"

    def ctl(self, *args: str, timeout: float = 60, nice: int = 0) -> str:
        """rabbitmqctl against this node; its output. `nice`: its CPU priority below
        the processes measured (each rabbitmqctl boots an Erlang VM)."""
        return subprocess.run(["nice", "-n", str(nice), str(RABBIT_BIN / "rabbitmqctl"),
                               "-n", self.name, *args],
                              env=self.env, capture_output=True, text=True,
                              timeout=timeout, check=True).stdout


def _environment(base: Path, name: str, port: int, dist_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
    env.update({
        "HOME": str(base / "home"),
        "RABBITMQ_CONF_ENV_FILE": str(base / "rabbitmq-env.conf"),
        "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
        "RABBITMQ_NODENAME": name,
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(port),
        "RABBITMQ_DIST_PORT": str(dist_port),
        "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
        "RABBITMQ_LOG_BASE": str(base / "log"),
        "RABBITMQ_PID_FILE": str(base / "rabbit.pid"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
        "RABBITMQ_PLUGINS_EXPAND_DIR": str(base / "plugins"),
        "ERL_EPMD_ADDRESS": "127.0.0.1",
        # Distribution on loopback only, as the system's node is configured.
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS":
            "-kernel inet_dist_use_interface {127,0,0,1}",
    })
    return env


def _prepare(base: Path, port: int) -> None:
    (base / "home").mkdir()
    cookie = base / "home" / ".erlang.cookie"
    cookie.write_text(os.urandom(16).hex().upper())
    cookie.chmod(0o400)  # Erlang refuses a cookie others may read
    (base / "rabbitmq-env.conf").write_text("")
    (base / "rabbitmq.conf").write_text(
        f"listeners.tcp.local = 127.0.0.1:{port}\n"
        # Hundreds of agents' connections opening at once.
        "tcp_listen_options.backlog = 4096\n")
    (base / "enabled_plugins").write_text("[].\n")


def _raise_files_limit(limit: int) -> None:
    # In the child, before exec: the node and its port programs inherit it.
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
    os.setsid()


@contextmanager
def private_node(start_timeout: float = 90.0) -> Iterator[RabbitNode]:
    """A RabbitMQ node of this process's own; yields it started (guest on "/")."""
    reason = available()
    if reason:
        raise RuntimeError(reason)
    base = Path(tempfile.mkdtemp(prefix="neutrino-bench-rabbit-"))
    port, dist_port = _free_port(), _free_port()
    name = f"neutrino-bench-{os.getpid()}@localhost"
    node = RabbitNode(name, port, dist_port, base / "home",
                      _environment(base, name, port, dist_port))
    node.files_limit = _files_limit()
    _prepare(base, port)
    wrapper: subprocess.Popen | None = None
    try:
        with open(base / "startup.log", "wb") as log:
            wrapper = subprocess.Popen(
                [str(RABBIT_BIN / "rabbitmq-server")], env=node.env, stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                preexec_fn=lambda: _raise_files_limit(node.files_limit))
        _wait_started(node, base, wrapper, start_timeout)
        yield node
    finally:
        _stop(node, base, wrapper)
        shutil.rmtree(base, ignore_errors=True)


def _wait_started(node: RabbitNode, base: Path, wrapper: subprocess.Popen,
                  timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pid_file = base / "rabbit.pid"
    while time.monotonic() < deadline:
        if wrapper.poll() is not None:
            raise RuntimeError("private RabbitMQ exited: "
                               + (base / "startup.log").read_text()[-3000:])
        if not node.pid and pid_file.exists() and pid_file.read_text().strip():
            node.pid = int(pid_file.read_text().split()[0])
        if node.pid:
            try:
                # Waits for the boot to finish (the listener is up before it has).
                node.ctl("await_startup", "--timeout", "5", timeout=30)
                return
            except subprocess.SubprocessError:
                pass
        time.sleep(0.5)
    raise RuntimeError(f"private RabbitMQ did not start in {timeout:.0f} s: "
                       + (base / "startup.log").read_text()[-3000:])


def _stop(node: RabbitNode, base: Path, wrapper: subprocess.Popen | None) -> None:
    if wrapper is None:
        return
    if not node.pid and (base / "rabbit.pid").exists():
        try:
            node.pid = int((base / "rabbit.pid").read_text().split()[0])
        except (ValueError, IndexError):
            node.pid = 0
    if wrapper.poll() is None:
        try:
            if node.pid:
                os.kill(node.pid, signal.SIGTERM)  # RabbitMQ stops gracefully on TERM
            else:  # not booted far enough to write its pid: its session, by id
                os.killpg(wrapper.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    try:
        wrapper.wait(timeout=60)
    except subprocess.TimeoutExpired:
        # The wrapper is the session leader of the node and its port programs.
        os.killpg(wrapper.pid, signal.SIGKILL)
        wrapper.wait(timeout=10)
