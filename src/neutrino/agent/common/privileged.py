"""The one module of the agents that touches the kernel.

Netlink through pyroute2 (links: bridge, vxlan, veth; master, up/down, MTU, MAC,
addresses; bridge FDB entries; network namespaces) and, for what has no netlink
interface worth using, the usual tools run as subprocesses (iptables-restore,
ipset, nft, dnsmasq). Everything here is a thin, typed wrapper: decisions are made
elsewhere (the reconcilers), so they can be tested without root.

A `Kernel` works in one network namespace (``netns=None``: the agent's own), which
is how the tests run one "host" per namespace in a single process.
"""

from __future__ import annotations

import ctypes
import errno
import json
import logging
import os
import select
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from pyroute2 import IPRoute, NetNS, netns
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.rtnl import RTMGRP_LINK
from pyroute2.netlink.rtnl.marshal import MarshalRtnl

from neutrino.agent.common import ip_batch

LOG = logging.getLogger(__name__)

ZERO_MAC = "00:00:00:00:00:00"  # an FDB entry with this MAC floods (BUM traffic)
NUD_PERMANENT = 0x80
NTF_SELF = 0x02
NETLINK_ROUTE = 0
CLONE_NEWNET = 0x40000000
NETNS_RUN_DIR = "/run/netns"


@dataclass(frozen=True)
class Vxlan:
    """What a vxlan device is (the parts the agent sets)."""

    vni: int
    local: str | None
    port: int
    learning: bool


@dataclass(frozen=True)
class Vlan:
    """What a VLAN sub-interface is: its parent device and VLAN id (trunks)."""

    parent: str | None
    vlan_id: int


@dataclass(frozen=True)
class Link:
    """A network interface as the kernel reports it."""

    name: str
    index: int
    kind: str | None  # "bridge", "vxlan", "veth", ... (None: a plain device)
    master: str | None  # name of the bridge it is enslaved to
    mtu: int
    up: bool
    mac: str | None
    vxlan: Vxlan | None = None
    vlan: Vlan | None = None
    alias: str | None = None  # ifalias: how agents mark the devices they made


@dataclass(frozen=True)
class FdbEntry:
    """A forwarding entry on a vxlan device: frames for `mac` go to VTEP `dst`."""

    mac: str
    dst: str


@dataclass
class Snapshot:
    """Links and the vxlan devices' remote FDB entries, read in one go."""

    links: dict[str, Link] = field(default_factory=dict)
    fdb: dict[str, set[FdbEntry]] = field(default_factory=dict)  # device -> entries


def parse_remote_fdb(text: str) -> set[FdbEntry]:
    """The permanent entries with a remote VTEP (``dst``) in `bridge -j fdb show`'s
    answer."""
    return {FdbEntry(str(item["mac"]), str(item["dst"]))
            for item in json.loads(text or "[]")
            if item.get("dst") and item.get("mac") and item.get("state") == "permanent"}


def parse_links(text: str) -> dict[str, Link]:
    """`ip -j -d link show`'s answer as Links by name."""
    out: dict[str, Link] = {}
    for item in json.loads(text or "[]"):
        info = item.get("linkinfo") or {}
        kind = info.get("info_kind")
        data = info.get("info_data") or {}
        vxlan = vlan = None
        if kind == "vxlan":
            vxlan = Vxlan(vni=int(data.get("id") or 0), local=data.get("local"),
                          port=int(data.get("port") or 0),
                          learning=bool(data.get("learning")))
        elif kind == "vlan":
            vlan = Vlan(parent=item.get("link"), vlan_id=data.get("id") or 0)
        name = item["ifname"]
        out[name] = Link(name=name, index=item["ifindex"], kind=kind,
                         master=item.get("master"), mtu=item.get("mtu"),
                         up="UP" in (item.get("flags") or ()),
                         mac=item.get("address"), vxlan=vxlan, vlan=vlan,
                         alias=item.get("ifalias") or None)
    return out


class Kernel:
    """Netlink operations in one network namespace. Thread-safe (one lock)."""

    def __init__(self, namespace: str | None = None) -> None:
        self.namespace = namespace
        # flags=0: open, never create. pyroute2 creates a missing namespace by
        # default, so reading one that another agent is deleting brought it back,
        # empty and unmarked (create_namespace makes them, on purpose).
        self._ip = NetNS(namespace, flags=0) if namespace else IPRoute()
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._ip.close()

    def __enter__(self) -> Kernel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------

    def links(self) -> dict[str, Link]:
        # `ip -j -d link` reads the same netlink dump decoded in C: 2,000 links in
        # ~0.2-0.5 s, where pyroute2's decoder took 7-15 s (issue 17's 1,000-port
        # host spent most of a no-op resync here).
        where = ["-n", self.namespace] if self.namespace else []
        return parse_links(execute(["ip", "-j", "-d", *where, "link", "show"]))

    def remote_fdb(self, device: str) -> set[FdbEntry]:
        """The permanent entries of `device` that point at a remote VTEP (those
        with a dst): the ones an agent writes. Entries the kernel learned (with
        learning on) come and go by themselves and are not listed."""
        # `bridge -j fdb show dev` decodes in C: pyroute2's dump of a bridge with
        # 2,000 ports took seconds (issue 17's 1,000-port no-op resync).
        where = ["-n", self.namespace] if self.namespace else []
        try:
            text = execute(["bridge", "-j", *where, "fdb", "show", "dev", device])
        except CommandError as error:
            if "Cannot find device" in error.stderr:
                raise LookupError(f"no link {device} in namespace "
                                  f"{self.namespace or '(own)'}") from None
            raise
        return parse_remote_fdb(text)

    def snapshot(self, fdb_of: Callable[[Link], bool] = lambda link: link.kind == "vxlan"
                 ) -> Snapshot:
        links = self.links()
        fdb = {name: self.remote_fdb(name) for name, link in links.items() if fdb_of(link)}
        return Snapshot(links=links, fdb=fdb)

    def _index(self, name: str) -> int:
        with self._lock:
            found = self._ip.link_lookup(ifname=name)
        if not found:
            raise LookupError(f"no link {name} in namespace {self.namespace or '(own)'}")
        index: int = found[0]  # pyroute2 is untyped
        return index

    def exists(self, name: str) -> bool:
        with self._lock:
            return bool(self._ip.link_lookup(ifname=name))

    # -- links -----------------------------------------------------------------

    def _call(self, method: str, *args: object, **kwargs: object) -> object:
        with self._lock:
            return getattr(self._ip, method)(*args, **kwargs)

    def add_bridge(self, name: str) -> None:
        self._call("link", "add", ifname=name, kind="bridge")

    def add_vxlan(self, name: str, vni: int, local: str | None, port: int,
                  learning: bool, mtu: int | None = None) -> None:
        attrs: dict[str, object] = {
            "ifname": name, "kind": "vxlan", "vxlan_id": vni, "vxlan_port": port,
            "vxlan_learning": int(learning), "vxlan_proxy": 0}
        if local:
            attrs["vxlan_local"] = local
        if mtu:
            attrs["mtu"] = mtu
        self._call("link", "add", **attrs)

    def add_veth(self, name: str, peer: str, peer_namespace: str | None = None) -> None:
        """A veth pair; the peer moved to `peer_namespace` when given."""
        self._call("link", "add", ifname=name, kind="veth", peer={"ifname": peer})
        if peer_namespace:
            self._call("link", "set", index=self._index(peer), net_ns_fd=peer_namespace)

    def add_vlan(self, name: str, parent: str, vlan_id: int, mac: str) -> None:
        """A VLAN sub-interface of `parent` (a trunk's sub-port): the ``ip`` tool's
        exact command (vlan_link_command), which says why when the kernel cannot."""
        execute(vlan_link_command(name, parent, vlan_id, mac), self.namespace)

    def delete(self, name: str) -> None:
        """Delete a link; one that is already gone is fine."""
        try:
            self._call("link", "del", index=self._index(name))
        except LookupError:
            pass
        except NetlinkError as error:
            if error.code != errno.ENODEV:
                raise

    def set_link(self, name: str, *, master: str | None = None, nomaster: bool = False,
                 mtu: int | None = None, up: bool | None = None, mac: str | None = None,
                 new_name: str | None = None) -> None:
        index = self._index(name)
        attrs: dict[str, object] = {}
        if master is not None:
            attrs["master"] = self._index(master)
        elif nomaster:
            attrs["master"] = 0
        if mtu is not None:
            attrs["mtu"] = mtu
        if mac is not None:
            attrs["address"] = mac
        if new_name is not None:
            attrs["ifname"] = new_name
        if attrs:
            self._call("link", "set", index=index, **attrs)
        if up is not None:
            self._call("link", "set", index=index, state="up" if up else "down")

    def set_links(self, changes: Sequence[tuple[str, dict[str, object]]]
                  ) -> list[str | None]:
        """Many `set_link` calls (master, nomaster, mtu, up only) as one
        ``ip -force -batch -``: per change None (done) or why it failed. One failing
        change does not stop the others. Changes ip could not tell the fate of (it
        stops at some argument errors despite -force: ip_batch) are applied again one
        by one with set_link, which says what is wrong with them."""
        results: list[str | None] = [None] * len(changes)
        lines: list[str] = []
        sent: list[int] = []  # batch line -> change
        for i, (name, kwargs) in enumerate(changes):
            try:
                lines.append(ip_batch.link_set_line(name, kwargs))
            except ValueError as error:
                results[i] = str(error)
                continue
            sent.append(i)
        if not lines:
            return results
        where = ["-n", self.namespace] if self.namespace else []
        cmd = ["ip", *where, "-force", "-batch", "-"]
        try:
            done = subprocess.run(cmd, input=ip_batch.render(lines), capture_output=True,
                                  text=True, timeout=120, check=False)
            outcome = ip_batch.parse_outcome(done.stderr, len(lines), done.returncode)
        except (OSError, subprocess.SubprocessError) as error:
            LOG.warning("%s failed (%s): changing links one by one", " ".join(cmd), error)
            outcome = ip_batch.Outcome(unknown=list(range(len(lines))))
        for line, why in outcome.failed.items():
            results[sent[line]] = why
        for line in outcome.unknown:
            name, kwargs = changes[sent[line]]
            try:
                self.set_link(name, **kwargs)  # type: ignore[arg-type]
            except Exception as error:  # noqa: BLE001 - reported per change
                results[sent[line]] = str(error) or type(error).__name__
        return results

    def add_address(self, name: str, address: str, prefixlen: int) -> None:
        try:
            self._call("addr", "add", index=self._index(name), address=address,
                       prefixlen=prefixlen)
        except NetlinkError as error:
            if error.code != errno.EEXIST:
                raise

    def addresses(self, name: str) -> set[str]:
        """The addresses of a link as "ip/prefixlen"; IPv6 link-local ones (the
        kernel's own) are left out."""
        index = self._index(name)
        with self._lock:
            raw = list(self._ip.get_addr(index=index))
        out = set()
        for msg in raw:
            address = msg.get("IFA_ADDRESS")
            if msg["index"] == index and address and not address.startswith("fe80:"):
                out.add(f"{address}/{msg['prefixlen']}")
        return out

    def delete_address(self, name: str, address: str, prefixlen: int) -> None:
        try:
            self._call("addr", "del", index=self._index(name), address=address,
                       prefixlen=prefixlen)
        except NetlinkError as error:
            if error.code not in (errno.EADDRNOTAVAIL, errno.ENOENT):
                raise

    def add_default_route(self, gateway: str) -> None:
        try:
            self._call("route", "add", dst="default", gateway=gateway)
        except NetlinkError as error:
            if error.code != errno.EEXIST:
                raise

    # -- routes with a gateway, link aliases (L3 agent) ---------------------------

    def gateway_routes(self) -> set[tuple[str, str]]:
        """The main table's routes through a gateway, IPv4 and IPv6, as
        ("destination/prefixlen", gateway): the ones an agent adds. Routes of
        connected subnets (no gateway) are the kernel's own and not listed."""
        out = set()
        for family, default in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
            with self._lock:
                raw = list(self._ip.get_routes(family=family, table=254))
            for msg in raw:
                gateway = msg.get("RTA_GATEWAY")
                if gateway:
                    out.add((f"{msg.get('RTA_DST') or default}/{msg['dst_len']}", gateway))
        return out

    def add_route(self, destination: str, gateway: str) -> None:
        """`ip route replace DESTINATION via GATEWAY` (destination "a.b.c.d/len")."""
        family = socket.AF_INET6 if ":" in destination else socket.AF_INET
        self._call("route", "replace", dst=destination, gateway=gateway, family=family)

    def delete_route(self, destination: str, gateway: str) -> None:
        family = socket.AF_INET6 if ":" in destination else socket.AF_INET
        try:
            self._call("route", "del", dst=destination, gateway=gateway, family=family)
        except NetlinkError as error:
            if error.code not in (errno.ESRCH, errno.ENOENT):
                raise

    def link_alias(self, name: str) -> str | None:
        """A link's alias (``ip link set NAME alias …``); None without one."""
        index = self._index(name)
        try:
            with self._lock:
                raw = list(self._ip.get_links(index))
        except NetlinkError as error:
            if error.code != errno.ENODEV:
                raise
            # Gone between the lookup and the read: as if never found.
            raise LookupError(f"no link {name} in namespace "
                              f"{self.namespace or '(own)'}") from error
        return raw[0].get("IFLA_IFALIAS") if raw else None

    def set_link_alias(self, name: str, alias: str) -> None:
        self._call("link", "set", index=self._index(name), ifalias=alias)

    # -- FDB -------------------------------------------------------------------

    def fdb_append(self, device: str, mac: str, dst: str) -> None:
        """`bridge fdb append MAC dev DEVICE dst DST` (permanent, self)."""
        try:
            self._call("fdb", "append", ifindex=self._index(device), lladdr=mac, dst=dst,
                       state=NUD_PERMANENT, flags=NTF_SELF)
        except NetlinkError as error:
            if error.code != errno.EEXIST:
                raise

    def fdb_delete(self, device: str, mac: str, dst: str) -> None:
        try:
            self._call("fdb", "del", ifindex=self._index(device), lladdr=mac, dst=dst)
        except NetlinkError as error:
            if error.code != errno.ENOENT:
                raise


# -- namespaces ----------------------------------------------------------------

def namespaces() -> list[str]:
    return list(netns.listnetns())


def namespace_exists(name: str) -> bool:
    return name in namespaces()


def is_namespace(name: str) -> bool:
    """Whether /run/netns/NAME is a network namespace, not the bare file a creation
    cut short leaves (the name is made first, then a namespace mounted on it: an
    agent killed in between leaves a name no one can enter)."""
    try:
        named = os.stat(os.path.join(NETNS_RUN_DIR, name))
        return named.st_dev == os.stat("/proc/self/ns/net").st_dev  # nsfs
    except OSError:
        return False


def _drop_bare_name(name: str) -> None:
    if namespace_exists(name) and not is_namespace(name):
        LOG.warning("%s/%s is no namespace (its creation was cut short): removed",
                    NETNS_RUN_DIR, name)
        try:
            os.unlink(os.path.join(NETNS_RUN_DIR, name))
        except FileNotFoundError:
            pass


def create_namespace(name: str) -> None:
    """Create a named namespace (/run/netns/NAME) with its loopback up."""
    _drop_bare_name(name)
    if not namespace_exists(name):
        netns.create(name)
    with Kernel(name) as kernel:
        kernel.set_link("lo", up=True)


def namespace_alias(name: str) -> str | None:
    """The alias of a named namespace's loopback (how agents mark the namespaces
    they own): "" when it has none, None when the namespace cannot be read (gone
    meanwhile): never taken for anyone's."""
    try:
        with Kernel(name) as kernel:
            return kernel.link_alias("lo") or ""
    except Exception:  # noqa: BLE001 - gone, or not a network namespace
        return None


def namespace_pids(name: str) -> list[int]:
    """The processes whose network namespace is the named one."""
    try:
        named = os.stat(os.path.join(NETNS_RUN_DIR, name))
    except OSError:
        return []
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            inside = os.stat(f"/proc/{entry}/ns/net")
        except OSError:
            continue  # exited meanwhile (or a kernel thread)
        if (inside.st_dev, inside.st_ino) == (named.st_dev, named.st_ino):
            pids.append(int(entry))
    return sorted(pids)


def stop_processes(pids: Sequence[int], timeout: float = 5.0) -> None:
    """SIGTERM, then SIGKILL for those still there after `timeout`."""
    alive = [pid for pid in pids if signal_process(pid, signal.SIGTERM)]
    deadline = time.monotonic() + timeout
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in alive if process_cmdline(pid) is not None]
        if alive:
            time.sleep(0.05)
    for pid in alive:
        LOG.warning("process %d ignored SIGTERM; killing it", pid)
        signal_process(pid, signal.SIGKILL)


def delete_namespace(name: str, timeout: float = 5.0) -> None:
    """Delete a named namespace with what lives in it: its processes are stopped
    (a process left inside would keep the namespace, and so its links, alive after
    the name is gone) and its links deleted (a veth end takes its peer, the tap
    on the host, with it), then the name removed."""
    _drop_bare_name(name)
    if not namespace_exists(name):
        return
    stop_processes(namespace_pids(name), timeout)
    try:
        with Kernel(name) as kernel:
            for link in kernel.links().values():
                if link.name != "lo":
                    kernel.delete(link.name)
    except NetlinkError as error:
        LOG.warning("deleting the links of namespace %s: %s", name, error)
    if namespace_exists(name):
        netns.remove(name)


def vlan_link_command(name: str, parent: str, vlan_id: int, mac: str) -> list[str]:
    """``ip link add`` of a VLAN sub-interface `name` of `parent` with `mac` (pure)."""
    return ["ip", "link", "add", "link", parent, "name", name, "address", mac,
            "type", "vlan", "protocol", "802.1Q", "id", str(vlan_id)]


def vlan_support() -> tuple[bool, str]:
    """Whether this host can make VLAN sub-interfaces (8021q), found by making one on
    a veth in a scratch namespace of our own, removed afterwards; (False, why) when
    it cannot."""
    scratch = f"vlanprobe-{os.getpid()}-{os.urandom(3).hex()}"
    try:
        create_namespace(scratch)
        execute(["ip", "link", "add", "probe0", "type", "veth", "peer", "name", "probe1"],
                scratch)
        execute(vlan_link_command("probe0.2", "probe0", 2, "fa:16:3e:00:00:02"), scratch)
        return True, ""
    except (CommandError, OSError, NetlinkError) as error:
        return False, f"cannot create a VLAN sub-interface on this host ({error})"
    finally:
        delete_namespace(scratch)


# -- device events ---------------------------------------------------------------

class LinkMonitor:
    """Calls `callback(event, name)` ("added"/"removed") for links whose name
    starts with one of `prefixes`, as netlink reports them (no polling).

    A plain netlink socket subscribed to the link group, read by one thread (the
    messages are decoded by pyroute2's parser): pyroute2's own sockets buffer
    messages in an asyncio queue, which does not mix with waiting on them here.
    For another namespace the thread enters it (setns is per thread) before
    opening the socket, which then stays in that namespace.
    """

    def __init__(self, prefixes: Sequence[str], callback: Callable[[str, str], None],
                 namespace: str | None = None) -> None:
        self.prefixes = tuple(prefixes)
        self.callback = callback
        self.namespace = namespace
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._seen: set[str] = set()

    def start(self) -> LinkMonitor:
        self._thread = threading.Thread(target=self._run, name="link-monitor", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error
        return self

    def _open(self) -> socket.socket:
        if self.namespace:
            enter_namespace(self.namespace)
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.bind((0, RTMGRP_LINK))
        return sock

    def _run(self) -> None:
        try:
            sock = self._open()
        except BaseException as error:  # noqa: BLE001 - reported by start()
            self._error = error
            self._ready.set()
            return
        self._ready.set()
        marshal = MarshalRtnl()
        with sock:
            while not self._stop.is_set():
                try:
                    ready, _, _ = select.select([sock], [], [], 0.5)
                    if not ready:
                        continue
                    messages = list(marshal.parse(sock.recv(1 << 16)))
                except OSError as error:
                    # ENOBUFS: events were lost; the caller's resync covers them.
                    LOG.warning("link monitor: %s; asking for a resync", error)
                    messages = []
                    self._safe_callback("overrun", "")
                except Exception:  # noqa: BLE001 - keep watching
                    LOG.exception("link monitor read failed")
                    continue
                for event, name in _link_events(messages, self.prefixes):
                    # RTM_NEWLINK also reports every change of a link (up, master,
                    # MTU: the agent's own work); only its first sighting counts.
                    if event == "added":
                        if name in self._seen:
                            continue
                        self._seen.add(name)
                    else:
                        self._seen.discard(name)
                    self._safe_callback(event, name)

    def _safe_callback(self, event: str, name: str) -> None:
        try:
            self.callback(event, name)
        except Exception:  # noqa: BLE001 - a callback bug must not stop events
            LOG.exception("link event callback failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)


def enter_namespace(name: str) -> None:
    """Move the calling thread into the named network namespace."""
    libc = ctypes.CDLL(None, use_errno=True)
    with open(os.path.join(NETNS_RUN_DIR, name)) as handle:
        if libc.setns(handle.fileno(), CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns {name}: {os.strerror(err)}")


def _link_events(messages: Sequence[object], prefixes: tuple[str, ...]
                 ) -> Iterator[tuple[str, str]]:
    for msg in messages:
        event = msg.get("event")  # type: ignore[attr-defined]
        name = msg.get("ifname") or msg.get("IFLA_IFNAME")  # type: ignore[attr-defined]
        if not name or not name.startswith(prefixes):
            continue
        if event == "RTM_NEWLINK":
            yield "added", name
        elif event == "RTM_DELLINK":
            yield "removed", name


# -- tools run as processes (firewall, DHCP) ----------------------------------------

class CommandError(RuntimeError):
    def __init__(self, cmd: Sequence[str], returncode: int, stderr: str) -> None:
        super().__init__(f"{' '.join(cmd)} exited {returncode}: {stderr.strip()}")
        self.cmd = list(cmd)
        self.returncode = returncode
        self.stderr = stderr


def in_namespace(cmd: Sequence[str], namespace: str | None) -> list[str]:
    """`cmd` run inside a named namespace (``ip netns exec``) when one is given."""
    return ["ip", "netns", "exec", namespace, *cmd] if namespace else list(cmd)


def execute(cmd: Sequence[str], namespace: str | None = None, stdin: str | None = None,
            check: bool = True, timeout: float = 60, ok: Sequence[int] = (0,)) -> str:
    """Run a tool to completion; its standard output, or CommandError (an exit
    status not in `ok`: e.g. diff tools exit 2 to say "different")."""
    full = in_namespace(cmd, namespace)
    LOG.debug("running %s", " ".join(full))
    result = subprocess.run(full, input=stdin, capture_output=True, text=True,
                            timeout=timeout, check=False)
    if check and result.returncode not in ok:
        raise CommandError(full, result.returncode, result.stderr)
    return result.stdout


def iptables_restore(rules: str, ipv6: bool = False, namespace: str | None = None,
                     noflush: bool = True) -> None:
    """Apply a batch of rules atomically (`iptables-restore`, `ip6tables-restore`)."""
    cmd = ["ip6tables-restore" if ipv6 else "iptables-restore"]
    if noflush:
        cmd.append("--noflush")
    execute(cmd, namespace, stdin=rules)


def iptables_save(ipv6: bool = False, namespace: str | None = None) -> str:
    return execute(["ip6tables-save" if ipv6 else "iptables-save"], namespace)


def ipset_restore(commands: str, namespace: str | None = None) -> None:
    """Apply a batch of ipset commands (`ipset restore -exist`)."""
    execute(["ipset", "restore", "-exist"], namespace, stdin=commands)


def ipset_save(namespace: str | None = None) -> str:
    """Every set and its members (`ipset save`)."""
    return execute(["ipset", "save"], namespace)


def nft_apply(text: str, namespace: str | None = None) -> None:
    """Apply an nftables batch (`nft -f -`): all of it or nothing."""
    execute(["nft", "-f", "-"], namespace, stdin=text)


def nft_table_comment(family: str, table: str, namespace: str | None = None
                      ) -> str | None:
    """The comment of an nftables table ("" when it has none); None when there is
    no such table."""
    try:
        text = execute(["nft", "list", "table", family, table], namespace)
    except CommandError as error:
        if "No such file or directory" in error.stderr:
            return None
        raise
    for line in text.splitlines()[1:]:
        line = line.strip()
        if line.startswith('comment "') and line.endswith('"'):
            return line[len('comment "'):-1]
        if line:  # the table's comment comes before its chains and sets
            break
    return ""


def nft_delete_table(family: str, table: str, namespace: str | None = None) -> None:
    """Delete an nftables table; one that is absent is fine (declaring it first
    makes the delete safe)."""
    nft_apply(f"table {family} {table}\ndelete table {family} {table}\n", namespace)


CONNTRACK_FAMILIES = {4: "ipv4", 6: "ipv6"}
CONNTRACK_FILTER_LIMIT = 16  # more addresses: one listing of the whole table


def conntrack_list(version: int, addresses: Sequence[str],
                   namespace: str | None = None) -> str:
    """The tracked connections of one IP version whose original source or
    destination is one of `addresses` (addresses or CIDRs), as ``conntrack -L -o
    extended`` prints them (the kernel filters; a connection may be printed
    twice). With many addresses the whole table of that version is listed once,
    cheaper than two processes per address."""
    cmd = ["conntrack", "-L", "-o", "extended", "-f", CONNTRACK_FAMILIES[version]]
    if not addresses:
        return ""
    if len(addresses) > CONNTRACK_FILTER_LIMIT:
        return execute(cmd, namespace)
    return "".join(execute([*cmd, flag, address], namespace)
                   for address in addresses for flag in ("-s", "-d"))


def conntrack_delete(batch: str, namespace: str | None = None) -> None:
    """Delete connections: ``conntrack -R -`` with one ``-D …`` line each (a line
    that matches nothing, the connection having ended meanwhile, is fine)."""
    if batch:
        execute(["conntrack", "-R", "-"], namespace, stdin=batch)



def nft_tables(namespace: str | None = None) -> dict[tuple[str, str], str]:
    """Every nftables table of a namespace, (family, name) -> its listing as ``nft
    list table`` prints it: one process where a listing per table would take one
    each (the L3 agent reads its NAT and firewall tables per router per sync)."""
    return split_ruleset(execute(["nft", "list", "ruleset"], namespace))


def split_ruleset(text: str) -> dict[tuple[str, str], str]:
    """``nft list ruleset`` output cut into its tables (each from its ``table
    <family> <name> {`` line to its closing brace at the start of a line)."""
    out: dict[tuple[str, str], str] = {}
    key: tuple[str, str] | None = None
    lines: list[str] = []
    for line in text.splitlines(keepends=True):
        if key is None:
            words = line.split()
            if len(words) == 4 and words[0] == "table" and words[3] == "{":
                key, lines = (words[1], words[2]), [line]
            continue
        lines.append(line)
        if line.rstrip("\n") == "}":
            out[key] = "".join(lines)
            key = None
    return out


def nft_list_table(family: str, table: str, namespace: str | None = None) -> str | None:
    """An nftables table as ``nft list table`` prints it; None when there is none."""
    try:
        return execute(["nft", "list", "table", family, table], namespace)
    except CommandError as error:
        if "No such file or directory" in error.stderr:
            return None
        raise


def ensure_sysctls(values: dict[str, str], namespace: str | None = None) -> list[str]:
    """Write the sysctls (names as paths under /proc/sys, e.g. "net/ipv4/ip_forward")
    whose value differs, in a network namespace; the names written."""
    written: list[str] = []

    def write() -> None:
        for name, value in values.items():
            with open(f"/proc/sys/{name}", "r+") as handle:
                if handle.read().strip() != value:
                    handle.seek(0)
                    handle.write(value + "\n")
                    written.append(name)

    run_in_namespace(write, namespace)
    return written


ETH_P_ARP = 0x0806


def gratuitous_arp_frame(mac: str, address: str) -> bytes:
    """A broadcast ARP request for `address` from it (sender = target): what hosts
    take as "this address is now at `mac`" (RFC 5227's announcement)."""
    hw = bytes.fromhex(mac.replace(":", ""))
    ip = socket.inet_aton(address)
    ether = b"\xff" * 6 + hw + ETH_P_ARP.to_bytes(2, "big")
    arp = (b"\x00\x01\x08\x00\x06\x04\x00\x01" + hw + ip + b"\x00" * 6 + ip)
    return ether + arp


def send_gratuitous_arp(announcements: Sequence[tuple[str, str, str]],
                        namespace: str | None = None, count: int = 1) -> None:
    """Announce IPv4 addresses: per (device, address, mac) `count` gratuitous ARP
    requests from that device (a raw packet socket in the namespace: no arping)."""
    def send() -> None:
        for device, address, mac in announcements:
            with socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                               socket.htons(ETH_P_ARP)) as sock:
                sock.bind((device, 0))
                frame = gratuitous_arp_frame(mac, address)
                for _ in range(count):
                    sock.send(frame)

    if announcements:
        run_in_namespace(send, namespace)


BRIDGE_NF_SYSCTLS = ("bridge-nf-call-iptables", "bridge-nf-call-ip6tables")


def enable_bridge_netfilter(namespace: str | None = None) -> None:
    """Bridged traffic through iptables/ip6tables (br_netfilter; the sysctls are
    per network namespace). The module is loaded when the kernel lacks it."""
    if not os.path.exists("/proc/sys/net/bridge"):
        execute(["modprobe", "br_netfilter"])

    def write() -> None:
        for name in BRIDGE_NF_SYSCTLS:
            with open(f"/proc/sys/net/bridge/{name}", "r+") as handle:
                if handle.read().strip() != "1":
                    handle.seek(0)
                    handle.write("1\n")

    run_in_namespace(write, namespace)


def run_in_namespace(function: Callable[[], None], namespace: str | None) -> None:
    """Call `function` in a named network namespace: in a thread of its own that
    enters it (setns is per thread; /proc/sys/net follows the calling thread)."""
    if not namespace:
        function()
        return
    errors: list[BaseException] = []

    def run() -> None:
        try:
            enter_namespace(namespace)
            function()
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller
            errors.append(error)

    thread = threading.Thread(target=run, name=f"in-{namespace}", daemon=True)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def spawn(cmd: Sequence[str], namespace: str | None = None,
          log_path: str | None = None) -> subprocess.Popen[bytes]:
    """Start a long-running tool (dnsmasq) in its own session; the caller keeps the
    Popen (pid) to stop it."""
    full = in_namespace(cmd, namespace)
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    try:
        return subprocess.Popen(full, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    finally:
        if log_path:
            out.close()  # type: ignore[union-attr]


def process_cmdline(pid: int) -> list[str] | None:
    """The argv of a live process; None when there is none (or only a zombie)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            # "pid (comm) state ...": comm may hold spaces and parentheses.
            if handle.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                return None
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            raw = handle.read()
    except (OSError, IndexError):
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part] or None


def process_in_namespace(pid: int, namespace: str) -> bool:
    """Whether a process runs in the named network namespace (and not in one that
    was deleted and made again under the same name)."""
    try:
        inside = os.stat(f"/proc/{pid}/ns/net")
        named = os.stat(os.path.join(NETNS_RUN_DIR, namespace))
    except OSError:
        return False
    return (inside.st_dev, inside.st_ino) == (named.st_dev, named.st_ino)


def signal_process(pid: int, signum: int) -> bool:
    """Send a signal; False when the process is gone."""
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        return False
    return True


def is_root() -> bool:
    return os.geteuid() == 0


# -- tc (QoS on taps: agent/qos) ---------------------------------------------------

def tc(args: Sequence[str], namespace: str | None = None) -> str:
    """Run `tc` with these arguments."""
    return execute(["tc", *args], namespace)


def tc_json(args: Sequence[str], namespace: str | None = None) -> list[dict[str, object]]:
    """`tc -j <args>` parsed; [] for a device that has gone (raced with an unplug)."""
    try:
        text = execute(["tc", "-j", *args], namespace)
    except CommandError as error:
        if "Cannot find device" in error.stderr:
            return []
        raise
    parsed: object = json.loads(text) if text.strip() else []
    if not isinstance(parsed, list):
        raise CommandError(["tc", "-j", *args], 0, f"not a JSON list: {text[:200]}")
    return [item for item in parsed if isinstance(item, dict)]


def tc_set_tbf(device: str, rate: int, burst: int, latency_ms: int,
               namespace: str | None = None) -> None:
    """Root qdisc of `device` := tbf (rate in bytes/s, burst in bytes)."""
    tc(["qdisc", "replace", "dev", device, "root", "handle", "1:", "tbf",
        "rate", f"{rate * 8}bit", "burst", str(burst), "latency", f"{latency_ms}ms"],
       namespace)


def tc_delete_root(device: str, namespace: str | None = None) -> None:
    execute(["tc", "qdisc", "del", "dev", device, "root"], namespace, check=False)


def tc_redirect_ingress(device: str, target: str, namespace: str | None = None) -> None:
    """Everything `device` receives goes out of `target` (an ifb) instead: the
    ingress qdisc, one match-all u32 filter with mirred (act_police is missing)."""
    execute(["tc", "qdisc", "del", "dev", device, "ingress"], namespace, check=False)
    tc(["qdisc", "add", "dev", device, "handle", "ffff:", "ingress"], namespace)
    tc(["filter", "add", "dev", device, "parent", "ffff:", "protocol", "all", "u32",
        "match", "u32", "0", "0", "action", "mirred", "egress", "redirect", "dev",
        target], namespace)


def tc_delete_ingress(device: str, namespace: str | None = None) -> None:
    execute(["tc", "qdisc", "del", "dev", device, "ingress"], namespace, check=False)


def ensure_ifb(name: str, namespace: str | None = None) -> None:
    """An ifb device, up (one that exists is kept)."""
    execute(["ip", "link", "add", name, "type", "ifb"], namespace, check=False)
    execute(["ip", "link", "set", name, "up"], namespace)
