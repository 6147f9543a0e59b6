"""Security group logging's reader: the packets the firewall's log rules send to
the NFLOG group, written as upstream's lines (seclog.py says which, nflog.py
decodes them).

One thread per agent, in the network namespace where the firewall's rules live
(setns is per thread; the socket then stays in that namespace): it binds a
``NETLINK_NETFILTER`` socket to the group, reads the kernel's packet messages and
writes, for each, one line per project of the logs that asked for it. The table
from NFLOG prefix to lines is replaced by the agent after every sync (`update`);
the thread starts with the first table that has a logged port, so a host without
logs opens no socket. Closing the socket (stop, or the process ending) is the
kernel's unbind.
"""

from __future__ import annotations

import errno
import logging
import select
import socket
import threading
from collections.abc import Mapping
from logging.handlers import WatchedFileHandler

from neutrino.agent.common.privileged import enter_namespace
from neutrino.agent.firewall import nflog, seclog
from neutrino.agent.firewall.seclog import Target

LOG = logging.getLogger(__name__)
# Where the lines go when [network_log] local_output_log_base is unset: the agent's
# own log, under a name of their own.
EVENTS = logging.getLogger("neutrino.security_group_log")
RECEIVE_BUFFER = 1 << 20
READ_SIZE = 1 << 17


class LogOutput:
    """Writes lines to `path` with a timestamp (reopened when logrotate moves it),
    or to the agent's log when there is no path."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._handler: WatchedFileHandler | None = None
        self._logger = EVENTS
        if path:
            # A logger of its own (not in logging's registry): two agents in one
            # process (tests, the all-in-one) never share handlers.
            self._logger = logging.Logger("neutrino.security_group_log")
            # Opened with the first line (the agent's start checks the directory).
            self._handler = WatchedFileHandler(path, delay=True)
            self._handler.setFormatter(logging.Formatter("%(asctime)s %(message)s",
                                                         "%Y-%m-%d %H:%M:%S"))
            self._logger.addHandler(self._handler)

    def write(self, line: str) -> None:
        self._logger.info("%s", line)

    def close(self) -> None:
        if self._handler is not None:
            self._logger.removeHandler(self._handler)
            self._handler.close()
            self._handler = None


class LogReader:
    def __init__(self, namespace: str | None, group: int, output: LogOutput) -> None:
        self.namespace = namespace
        self.group = group
        self.output = output
        self.written = 0  # lines written (tests, metrics)
        self._table: Mapping[str, list[Target]] = {}
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._last_error = ""

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def update(self, table: Mapping[str, list[Target]]) -> None:
        """Use `table` from now on (replaced whole: the reading thread sees the old
        or the new one, never a mix); start reading once some port is logged."""
        self._table = table
        if table and not self.running:
            self.start()

    def start(self) -> bool:
        """Bind the group and start reading; False (and logged once per reason)
        when the kernel refuses, e.g. another process holds the group."""
        self._stop.clear()
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._run, name="security-group-log",
                                        daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is None:
            self._last_error = ""
            LOG.info("security group logging: reading NFLOG group %d", self.group)
            return True
        reason = str(self._error)
        if reason != self._last_error:
            LOG.error("security group logging: cannot read NFLOG group %d: %s",
                      self.group, reason)
        self._last_error = reason
        return False

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        self.output.close()

    def _open(self) -> socket.socket:
        if self.namespace:
            enter_namespace(self.namespace)
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, nflog.NETLINK_NETFILTER)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            sock.bind((0, 0))
            sock.settimeout(5)
            for message in nflog.bind_messages(self.group):
                sock.send(message)
                # Once the group is bound a logged packet may come before the
                # next command's ACK: skipped (a netlink error raises; no answer
                # within the timeout raises socket.timeout).
                while not nflog.check_acks(sock.recv(READ_SIZE)):
                    pass
        except BaseException:
            sock.close()
            raise
        return sock

    def _run(self) -> None:
        try:
            sock = self._open()
        except BaseException as error:  # noqa: BLE001 - reported by start()
            self._error = error
            self._ready.set()
            return
        self._ready.set()
        with sock:
            while not self._stop.is_set():
                try:
                    ready, _, _ = select.select([sock], [], [], 0.5)
                    if ready:
                        self._handle(sock.recv(READ_SIZE))
                except OSError as error:
                    if error.errno != errno.ENOBUFS:
                        # The next update (sync) starts a new reader.
                        LOG.error("security group logging: reading stopped: %s", error)
                        return
                    # The kernel dropped messages: some packets go unlogged.
                    LOG.warning("security group logging: receive buffer overrun; "
                                "some logged packets were lost")
                except Exception:  # noqa: BLE001 - one bad message must not stop it
                    LOG.exception("security group logging: unreadable NFLOG message")

    def _handle(self, data: bytes) -> None:
        table = self._table
        for packet in nflog.parse(data):
            for line in seclog.lines(packet, table):
                self.output.write(line)
                self.written += 1
