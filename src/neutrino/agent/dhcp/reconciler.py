"""The DHCP agent's reconciler: the "dhcp" desired state in, one dnsmasq per
network out.

For every network to serve (admin up, a subnet with DHCP on): the DHCP port (asked
of the server with ``get_dhcp_port`` when the state has none, or one lacking an
address on a subnet served), namespace ``qdhcp-<network>`` with lo up, a veth pair
``tap<port[:11]>`` (host side: the L2 agent puts it in the network's bridge, the
port being bound to this host) and ``ns-<port[:11]>`` (inside, with the port's MAC,
addresses and the network's MTU), the files (render.py) and dnsmasq:

* not running (never started, or died): started;
* running with the command line wanted: SIGHUP when a file changed (dnsmasq re-reads
  hosts and options files), else left alone;
* running with another command line (subnets served changed): restarted.

When metadata applies to the network (metadata.py: isolated or forced), its
``ns-`` device also holds 169.254.169.254/32 and a metadata proxy
(agent/metadata/proxies.py) listens there in the namespace.

A network no longer to serve loses its dnsmasq (found by its pid file, checked by
its command line), its metadata proxy, its namespace (the veth pair goes with it),
its files, and its DHCP port (``release_dhcp_port``).

Nothing is remembered that the host does not show: the state directory
(``dhcp_confs``: one directory per network, upstream's layout) and the pid files say
which networks this agent serves and which dnsmasq is theirs (with interface_driver
= openvswitch, OVSDB which taps on the bridge are its: common/interface.OvsPorts), so a restarted
agent adopts its running processes (reloading each once, in case the previous agent
wrote files it never signalled) and removes what is no longer wanted.

Which ``qdhcp-*`` namespaces are this agent's: those of its state directory and
those whose loopback alias names its host (``OWNER_ALIAS``, set when the agent makes
or adopts one), never another's: other agents and tests on the machine have
namespaces of their own. A namespace removed takes every process running in it
(dnsmasq, the metadata proxy, anything else) and its links with it.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from neutrino.agent.common import interface, privileged
from neutrino.agent.common.interface import OvsPorts
from neutrino.agent.common.privileged import Kernel
from neutrino.agent.dhcp import metadata, render
from neutrino.agent.dhcp.render import Paths, Settings
from neutrino.agent.metadata.proxies import METADATA_ADDRESS, METADATA_PORT, MetadataProxies
from neutrino.contract import names
from neutrino.contract.dhcp import DhcpNetwork, DhcpPort, DhcpState

LOG = logging.getLogger(__name__)

NAMESPACE_PREFIX = names.DHCP_NAMESPACE_PREFIX
INTERFACE_PREFIX = names.DHCP_INTERFACE_PREFIX
STOP_TIMEOUT = 5.0
# The qdhcp- namespace's loopback carries this alias with the agent's host (as the
# L3 agent marks its qrouter- namespaces): the agent reaps only namespaces it marked.
OWNER_ALIAS = "neutrino-dhcp-agent host={}"
# interface_driver = openvswitch: the external_ids that mark this agent's taps on
# the bridge (its owner alias, the network the tap serves).
OWNER_KEY, NETWORK_KEY = "neutrino-dhcp-owner", "neutrino-network"


@dataclass
class Result:
    """What one reconcile did, and what the state report counts."""

    actions: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (network, error)
    networks: int = 0
    subnets: int = 0
    ports: int = 0


def _is_network_id(name: str) -> bool:
    try:
        uuid.UUID(name)
    except ValueError:
        return False
    return True


def write_if_changed(path: str, content: str) -> bool:
    """Replace a file atomically when its content differs; whether it did. World
    readable: dnsmasq re-reads it after dropping its privileges."""
    try:
        with open(path) as handle:
            if handle.read() == content:
                return False
    except FileNotFoundError:
        pass
    tmp = f"{path}.tmp"
    with open(tmp, "w") as handle:
        handle.write(content)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return True


class Reconciler:
    """Applies a "dhcp" desired state to this host."""

    def __init__(self, settings: Settings, state_dir: str,
                 get_dhcp_port: Callable[[str], DhcpPort | None],
                 release_dhcp_port: Callable[[str], object],
                 host_namespace: str | None = None,
                 own_all_namespaces: bool = False,
                 proxies: MetadataProxies | None = None,
                 host: str | None = None,
                 ovs: tuple[str, str] | None = None) -> None:
        """`host_namespace`: where the taps go (None: this namespace; tests play a
        host in a namespace). `host`: the agent's host, which marks its namespaces
        (None: the state directory marks them). `own_all_namespaces`: also the
        ``qdhcp-*`` namespaces nobody marked are this agent's (made by a version that
        did not mark them); off by default, as other agents and tests on the machine
        have their own. `proxies`: this agent's metadata proxies (None: no
        metadata)."""
        self.settings = settings
        # interface_driver = openvswitch: (ovsdb connection, bridge) the taps go in.
        self.ovs = ovs
        self.state_dir = state_dir
        self.owner_alias = OWNER_ALIAS.format(host or os.path.abspath(state_dir))
        self.ovs_taps = (OvsPorts(*ovs, owner=self.owner_alias, owner_key=OWNER_KEY,
                                  group_key=NETWORK_KEY, keep=True)
                         if ovs is not None else None)
        # During one reconcile with OVS: the OVSDB session, the taps the bridge has
        # of this agent (tap -> network, read from OVSDB: nothing is remembered) and
        # the taps of the networks served this pass (tap -> network).
        self._ovsdb: Any = None
        self._owned_taps: dict[str, str] = {}
        self._served_taps: dict[str, str] = {}
        self.get_dhcp_port = get_dhcp_port
        self.release_dhcp_port = release_dhcp_port
        self.host_namespace = host_namespace
        self.own_all_namespaces = own_all_namespaces
        self.proxies = proxies
        # Networks whose dnsmasq this reconciler has started or signalled: one found
        # running by a new agent is reloaded once (see the module's docstring).
        self._seen: set[str] = set()
        self._proxied: set[str] = set()  # networks with a metadata proxy
        self._seen_lock = threading.Lock()  # `dead` runs in the agent's watchdog thread

    # -- the whole host -------------------------------------------------------------

    def reconcile(self, desired: DhcpState) -> Result:
        if self.ovs_taps is None:
            return self._reconcile(desired)
        with self.ovs_taps.session() as ovsdb:
            self._ovsdb = ovsdb
            self._owned_taps = self.ovs_taps.owned(ovsdb)
            self._served_taps = {}
            try:
                result = self._reconcile(desired)
                failed = {network_id for network_id, _ in result.failed}
                # Taps of networks no longer served, of DHCP ports replaced, of
                # networks removed while no agent ran: their rows go.
                for tap in interface.stale(self._owned_taps, self._served_taps, failed):
                    self.ovs_taps.unplug(ovsdb, tap)
                    result.actions.append(f"unplug {tap} from {self.ovs_taps.bridge}")
            finally:
                self._ovsdb = None
        return result

    def close(self) -> None:
        """Its OVSDB connection (interface_driver = openvswitch) closed."""
        if self.ovs_taps is not None:
            self.ovs_taps.close()

    def _reconcile(self, desired: DhcpState) -> Result:
        result = Result()
        wanted = {n["id"]: n for n in desired["networks"] if render.needs_port(n)}
        for network_id in sorted(self.known_networks() - set(wanted)):
            try:
                self.remove(network_id, result)
            except Exception as error:  # noqa: BLE001 - the others must still converge
                LOG.exception("removing DHCP of network %s failed", network_id)
                result.failed.append((network_id, str(error)))
        for network_id, network in sorted(wanted.items()):
            try:
                served = self.ensure(network, result)
            except Exception as error:  # noqa: BLE001 - the others must still converge
                LOG.exception("DHCP of network %s failed", network_id)
                result.failed.append((network_id, str(error)))
                continue
            if served:
                result.networks += 1
                result.subnets += len(render.served_subnets(network))
                result.ports += len(render.ports_of(network))
        if self.proxies is not None:
            keep = {render.namespace_name(network_id) for network_id, network
                    in wanted.items() if metadata.proxy_target(network, self.settings)}
            for namespace in self.proxies.remove_stale(keep):
                result.actions.append(f"stop metadata proxy in {namespace}")
        return result

    def known_networks(self) -> set[str]:
        """The networks this agent has something for on the host."""
        found = set()
        if os.path.isdir(self.state_dir):
            found = {name for name in os.listdir(self.state_dir)
                     if _is_network_id(name)
                     and os.path.isdir(os.path.join(self.state_dir, name))}
        found |= {name[len(NAMESPACE_PREFIX):] for name in privileged.namespaces()
                  if name.startswith(NAMESPACE_PREFIX)
                  and _is_network_id(name[len(NAMESPACE_PREFIX):])
                  and self._owned(name)}
        return found

    def _owned(self, namespace: str) -> bool:
        """Marked with this agent's alias; unmarked ones only with own_all_namespaces."""
        alias = privileged.namespace_alias(namespace)
        if alias == self.owner_alias:
            return True
        return alias == "" and self.own_all_namespaces

    def _removable(self, network_id: str) -> bool:
        """A namespace of a network this agent knows (its state directory or its
        mark) goes unless another agent marked it."""
        alias = privileged.namespace_alias(render.namespace_name(network_id))
        if alias in ("", self.owner_alias):
            return True
        LOG.warning("namespace of network %s is marked by another agent (%s): left",
                    network_id, alias)
        return False

    def paths(self, network_id: str) -> Paths:
        return Paths(os.path.join(self.state_dir, network_id))

    # -- one network -------------------------------------------------------------------

    def ensure(self, network: DhcpNetwork, result: Result) -> bool:
        """Serve one network; False when the server says it is gone."""
        network_id = network["id"]
        port = network["dhcp_port"]
        if port is None or not render.port_complete(network, port):
            port = self.get_dhcp_port(network_id)
            if port is None:
                LOG.info("network %s is gone; not serving it", network_id)
                self.remove(network_id, result, release=False)
                return False
            network = {**network, "dhcp_port": port}
        paths = self.paths(network_id)
        os.makedirs(paths.directory, mode=0o755, exist_ok=True)
        target = (metadata.proxy_target(network, self.settings)
                  if self.proxies is not None else None)
        self._device(network, port, result, with_metadata=target is not None)
        changed = [write_if_changed(paths.hosts, render.hosts_file(network, self.settings)),
                   write_if_changed(paths.addn_hosts,
                                    render.addn_hosts_file(network, self.settings)),
                   write_if_changed(paths.opts, render.opts_file(network, self.settings))]
        self._process(network, port, paths, any(changed), result)
        self._metadata_proxy(network_id, target, result)
        return True

    def _metadata_proxy(self, network_id: str, target: tuple[str, str] | None,
                        result: Result) -> None:
        if self.proxies is None:
            return
        namespace = render.namespace_name(network_id)
        if target is None:
            if self.proxies.remove(namespace):
                result.actions.append(f"stop metadata proxy in {namespace}")
            with self._seen_lock:
                self._proxied.discard(network_id)
            return
        done = self.proxies.ensure(namespace, *target, METADATA_ADDRESS, METADATA_PORT)
        if done:
            verb = "start" if done == "started" else "restart"
            result.actions.append(f"{verb} metadata proxy in {namespace}")
        with self._seen_lock:
            self._proxied.add(network_id)

    def _device(self, network: DhcpNetwork, port: DhcpPort, result: Result,
                with_metadata: bool = False) -> None:
        network_id = network["id"]
        namespace = render.namespace_name(network_id)
        iface = render.interface_name(port["id"])
        tap = render.tap_name(port["id"])
        mac = port["mac_address"].lower()
        mtu = network["mtu"] or None
        if not privileged.namespace_exists(namespace):
            result.actions.append(f"create namespace {namespace}")
        privileged.create_namespace(namespace)  # idempotent; lo up
        with Kernel(namespace) as inner, Kernel(self.host_namespace) as host:
            alias = inner.link_alias("lo")
            if alias != self.owner_alias:
                if alias:
                    # Another agent's (another host on this machine): not taken over.
                    raise RuntimeError(f"namespace {namespace} belongs to another agent "
                                       f"({alias})")
                inner.set_link_alias("lo", self.owner_alias)
            links = inner.links()
            for name in links:
                # An earlier DHCP port's interface (the port was released and
                # another made): it and its tap go.
                if name.startswith(INTERFACE_PREFIX) and name != iface:
                    inner.delete(name)
                    result.actions.append(f"delete {name} in {namespace}")
            if iface not in links or not host.exists(tap):
                inner.delete(iface)
                host.delete(tap)
                host.delete(iface)  # a pair half made by an agent that crashed
                host.add_veth(tap, iface, peer_namespace=namespace)
                result.actions.append(f"create {tap} <-> {iface} in {namespace}")
                links = inner.links()
            link = links[iface]
            if (link.mac or "").lower() != mac or (mtu and link.mtu != mtu):
                inner.set_link(iface, mac=mac, mtu=mtu)
                result.actions.append(f"set {iface} mac {mac} mtu {mtu}")
            if not link.up:
                inner.set_link(iface, up=True)
            host.set_link(tap, mtu=mtu, up=True)
            if self.ovs_taps is not None:
                if (self._owned_taps.get(tap) != network_id
                        or f"create {tap}" in " ".join(result.actions)):
                    self._plug_ovs(network_id, tap, port, namespace, iface)
                    result.actions.append(f"plug {tap} into {self.ovs_taps.bridge}")
                self._served_taps[tap] = network_id
            want = render.interface_addresses(network, port)
            if with_metadata:
                want.add(metadata.METADATA_CIDR)
            have = inner.addresses(iface)
            for address in sorted(have - want):
                ip, prefixlen = address.split("/")
                inner.delete_address(iface, ip, int(prefixlen))
                result.actions.append(f"delete address {address} from {iface}")
            for address in sorted(want - have):
                ip, prefixlen = address.split("/")
                inner.add_address(iface, ip, int(prefixlen))
                result.actions.append(f"add address {address} to {iface}")

    def _process(self, network: DhcpNetwork, port: DhcpPort, paths: Paths,
                 files_changed: bool,
                 result: Result) -> None:
        network_id = network["id"]
        cmd = render.command(network, port["id"], paths, self.settings)
        pid = self.running_pid(network_id)
        namespace = render.namespace_name(network_id)
        if pid is not None and not privileged.process_in_namespace(pid, namespace):
            # Its namespace was deleted under it and made again (by hand, or by an
            # agent that could not open it): it serves an unnamed namespace nobody
            # reaches. Adopting it would leave the network without DHCP.
            LOG.warning("dnsmasq %d of network %s runs outside namespace %s; replacing "
                        "it", pid, network_id, namespace)
            stop_process(pid)
            result.actions.append(f"stop dnsmasq {pid} of {network_id} (stray)")
            pid = None
        if pid is not None:
            argv = privileged.process_cmdline(pid) or []
            if argv[1:] == cmd[1:]:
                if files_changed or network_id not in self._seen:
                    privileged.signal_process(pid, signal.SIGHUP)
                    result.actions.append(f"reload dnsmasq {pid} of {network_id}")
                with self._seen_lock:
                    self._seen.add(network_id)
                return
            LOG.info("dnsmasq %d of network %s needs a new command line; restarting",
                     pid, network_id)
            stop_process(pid)
        self._start(network_id, cmd, paths)
        result.actions.append(f"start dnsmasq of {network_id}")
        with self._seen_lock:
            self._seen.add(network_id)

    def _start(self, network_id: str, cmd: list[str], paths: Paths) -> None:
        try:
            os.unlink(paths.pid)
        except FileNotFoundError:
            pass
        # dnsmasq daemonizes once it is ready: its exit status says whether it
        # could start (a bad option, an address in use), with the reason on stderr.
        privileged.execute(cmd, namespace=render.namespace_name(network_id))
        LOG.info("dnsmasq %s started for network %s", self.running_pid(network_id),
                 network_id)

    def running_pid(self, network_id: str) -> int | None:
        """The pid of the network's dnsmasq when it runs: the pid file's process,
        if it is a dnsmasq using that pid file (a pid may be reused)."""
        return dnsmasq_pid(self.paths(network_id).pid)

    def dead(self) -> list[str]:
        """Networks whose dnsmasq (or metadata proxy) this reconciler ran and that is
        no longer running."""
        with self._seen_lock:
            seen = sorted(self._seen)
            proxied = sorted(self._proxied)
        dead = {n for n in seen if self.running_pid(n) is None}
        if self.proxies is not None:
            dead |= {n for n in proxied
                     if self.proxies.running(render.namespace_name(n)) is None}
        return sorted(dead)

    def _plug_ovs(self, network_id: str, tap: str, port: DhcpPort, namespace: str,
                  iface: str) -> None:
        """The tap as a port of the integration bridge the way os-vif plugs a VM
        (iface-id: the DHCP port, so the Open vSwitch agent tags it), and the
        namespace end's TX checksums in software (the userspace datapath's
        conntrack finds offloaded ones invalid: vif.checksum_in_software)."""
        assert self.ovs_taps is not None and self._ovsdb is not None
        self.ovs_taps.plug(self._ovsdb, tap, network_id, port["id"], port["mac_address"],
                           namespace, iface)
        self._owned_taps[tap] = network_id

    def remove(self, network_id: str, result: Result, release: bool = True) -> None:
        paths = self.paths(network_id)
        pid = self.running_pid(network_id)
        if pid is not None:
            stop_process(pid)
            result.actions.append(f"stop dnsmasq {pid} of {network_id}")
        namespace = render.namespace_name(network_id)
        if self.proxies is not None and self.proxies.remove(namespace):
            result.actions.append(f"stop metadata proxy in {namespace}")
        if privileged.namespace_exists(namespace) and self._removable(network_id):
            # Its processes, and its ns- end (so the veth pair's tap), go with it.
            privileged.delete_namespace(namespace)
            result.actions.append(f"delete namespace {namespace}")
        # With OVS, its tap's row on the bridge goes at the end of the pass
        # (reconcile: interface.stale).
        if release:
            # Before the files go: if the server cannot be reached the directory
            # stays, so the next sync tries again.
            self.release_dhcp_port(network_id)
        if os.path.isdir(paths.directory):
            shutil.rmtree(paths.directory)
            result.actions.append(f"delete {paths.directory}")
        with self._seen_lock:
            self._seen.discard(network_id)
            self._proxied.discard(network_id)
        LOG.info("stopped serving DHCP on network %s", network_id)


def dnsmasq_pid(pid_file: str) -> int | None:
    try:
        with open(pid_file) as handle:
            pid = int(handle.read().strip())
    except (OSError, ValueError):
        return None
    argv = privileged.process_cmdline(pid)
    if (argv and os.path.basename(argv[0]) == "dnsmasq"
            and f"--pid-file={pid_file}" in argv):
        return pid
    return None


def stop_process(pid: int, timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM, then SIGKILL if it does not go within `timeout`."""
    privileged.stop_processes([pid], timeout)
