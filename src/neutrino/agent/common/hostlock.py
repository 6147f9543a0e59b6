"""One live agent of a kind per host: a lock file the agent holds while it runs.

Two agents of the same kind for the same host would each take the other's devices
for stale ones and delete them (namespaces, bridges, dnsmasq). So an agent takes
an exclusive ``flock`` on ``<state_path>/locks/<binary>@<host>.lock`` before it
touches anything, and a second one refuses to start, naming the holder's pid
(written into the file). The kernel drops the lock when its holder exits, however
it exits, so a crashed agent never leaves a stale lock behind.
"""

from __future__ import annotations

import errno
import fcntl
import os


class AgentAlreadyRunning(RuntimeError):
    """Another live agent of this kind already owns this host's devices."""


def lock_path(state_path: str, binary: str, host: str) -> str:
    # A host name may hold a "/" in theory: keep the file inside the directory.
    safe_host = host.replace("/", "_")
    return os.path.join(os.path.abspath(state_path), "locks", f"{binary}@{safe_host}.lock")


class HostLock:
    """The lock of one agent kind on one host; `acquire` or AgentAlreadyRunning."""

    def __init__(self, state_path: str, binary: str, host: str) -> None:
        self.path = lock_path(state_path, binary, host)
        self.binary = binary
        self.host = host
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> HostLock:
        if self._fd is not None:
            return self
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            os.close(fd)
            if error.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                raise
            holder = self.holder()
            who = f"pid {holder}" if holder else "another process"
            raise AgentAlreadyRunning(
                f"another {self.binary} ({who}) already runs for host {self.host!r} "
                f"(lock {self.path}); stop it first or give this one another "
                "[DEFAULT] host") from None
        # Ours now: say who holds it, for the message a second agent prints.
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def holder(self) -> int | None:
        """The pid written by the lock's holder (None when unreadable)."""
        try:
            with open(self.path) as handle:
                return int(handle.read().strip())
        except (OSError, ValueError):
            return None

    def release(self) -> None:
        """Give the lock up (closing the file drops it); the file stays, harmless."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        os.close(fd)
