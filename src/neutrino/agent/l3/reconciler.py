"""The L3 agent's reconciler: the "l3" desired state in, router namespaces out.

`Reconciler.reconcile(desired)`:

1. plans (plan.py, pure) which routers this host realises;
2. removes the router namespaces of ours that no router wants any more (a router
   deleted, moved to another agent, admin down) after telling the metadata proxies,
   and the metadata proxies of the routers not realised here;
3. per router: observes its namespace (links, addresses, routes) and the host's
   taps; replaces the NAT table when its digest differs (one ``nft -f`` batch,
   before the addresses: a floating IP is translated from its first packet);
   applies the difference action by action; turns forwarding on
   (``net.ipv4.ip_forward``, IPv6 ``forwarding``); deletes the tracked connections
   of the floating IP mappings that went (the old mappings are read from the
   kernel's table; the NAT and firewall tables are read in one ``nft list
   ruleset``); then asks the metadata proxies to ensure the router's, and the
   router advertisements (radvd.py: IPv6 RA on its internal subnets) theirs,
   keepalived its VRRP and VPNaaS its charon (vpn/strongswan.py: IPsec site
   connections; a failure there is logged, routing goes on);
4. sends gratuitous ARP for the IPv4 addresses that appeared on gateways (after
   every router: one that lost a floating IP another gained no longer answers);
5. computes the floating IP statuses the server must be told (plan.py).

With ``interface_driver = openvswitch`` (``ports``: common/interface.OvsPorts) each
tap is also a port of the integration bridge with iface-id = the router port, so
the Open vSwitch agent tags it (the gateway's too: the external network reaches
br-ex through that agent's bridge_mappings, as upstream's). The rows carry this
agent's owner alias and the router: each reconcile plugs the taps of a router
whose veth pair was made or whose row is missing, and unplugs the rows of taps no
router wants any more (a namespace removed takes its veth, not the row).

Nothing is remembered between calls: a new Reconciler (an agent restart) reads the
kernel afresh and converges exactly. Which ``qrouter-*`` namespaces are ours: those
whose loopback alias names this agent's host (set when the agent makes or adopts
one), and with ``own_all_namespaces`` (off by default: other agents and tests on
the machine make namespaces of their own, unmarked for a moment) also those without
an alias. A namespace another host's agent marked is never touched (tests playing
several hosts on one machine, an all-in-one or a conformance run beside them). A
namespace removed takes its processes and links with it.
"""

from __future__ import annotations

import ipaddress
import logging
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from neutrino.agent.common import interface, privileged
from neutrino.agent.common.interface import OvsPorts
from neutrino.agent.common.privileged import Kernel, Link
from neutrino.agent.firewall import conntrack
from neutrino.agent.l3 import fwaas, nat
from neutrino.agent.l3 import plan as planning
from neutrino.agent.l3 import qos as l3qos
from neutrino.agent.l3.plan import Action, Layout, RouterSnapshot, RouterSpec, Settings
from neutrino.agent.l3.proxies import MetadataProxies, NoMetadataProxies
from neutrino.agent.l3.vpn import render as vpn_render
from neutrino.contract.l3 import L3State

LOG = logging.getLogger(__name__)

# The external_ids that mark this agent's taps on the integration bridge (OVS).
OWNER_KEY, ROUTER_KEY = "neutrino-l3-owner", "neutrino-router"

# A namespace's nftables tables: (family, name) -> listing (privileged.nft_tables).
Tables = dict[tuple[str, str], str]


@dataclass
class Result:
    """What one reconcile did, and what the state report counts."""

    actions: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (router, error)
    statuses: dict[str, dict[str, str]] = field(default_factory=dict)  # router -> fips
    routers: int = 0
    ex_gw_ports: int = 0
    interfaces: int = 0
    floating_ips: int = 0
    conntrack_deleted: int = 0
    # FWaaS v2 (issue 16): group -> (status the server has, status to report).
    firewall_statuses: dict[str, tuple[str, str]] = field(default_factory=dict)
    # VPNaaS (issue 16): the routers realised that have VPN services (their
    # statuses are read from charon by agent/l3/vpn/reporter.py).
    vpn_routers: dict[str, Mapping[str, Any]] = field(default_factory=dict)


class Reconciler:
    """Applies an "l3" desired state to this host."""

    def __init__(self, settings: Settings, host: str, host_namespace: str | None = None,
                 own_all_namespaces: bool = False,
                 metadata_proxies: MetadataProxies | None = None,
                 garp_count: int = 1,
                 router_advertisements: MetadataProxies | None = None,
                 keepalived: MetadataProxies | None = None,
                 vpn: MetadataProxies | None = None,
                 ovs: tuple[str, str] | None = None) -> None:
        """`host_namespace`: where the taps go (None: this namespace; tests play a
        host in a namespace). `ovs`: (ovsdb connection, bridge) the taps are
        plugged into (interface_driver = openvswitch); None: Linux bridge."""
        self.settings = settings
        self.host = host
        self.host_namespace = host_namespace
        self.own_all_namespaces = own_all_namespaces
        self.proxies: MetadataProxies = metadata_proxies or NoMetadataProxies()
        self.garp_count = max(1, garp_count)
        # radvd.Radvd: the same per-router ensure/remove shape as the proxies.
        self.advertisements: MetadataProxies = (router_advertisements
                                                 or NoMetadataProxies())
        # keepalived.Keepalived: HA routers' VRRP (the same hook shape).
        self.keepalived: MetadataProxies = keepalived or NoMetadataProxies()
        # vpn.strongswan.Strongswan: VPNaaS's charon per router (the same shape).
        self.vpn: MetadataProxies = vpn or NoMetadataProxies()
        self._skipped_logged: dict[str, str] = {}
        self.ports = (OvsPorts(*ovs, owner=self.owner_alias, owner_key=OWNER_KEY,
                               group_key=ROUTER_KEY) if ovs is not None else None)
        # During one reconcile with OVS: the OVSDB session and the taps the bridge
        # has of this agent (tap -> router, read from OVSDB: nothing is remembered).
        self._ovsdb: Any = None
        self._owned_taps: dict[str, str] = {}

    @property
    def owner_alias(self) -> str:
        return planning.OWNER_ALIAS.format(self.host)

    # -- the whole host -------------------------------------------------------------

    def reconcile(self, desired: L3State) -> Result:
        if self.ports is None:
            return self._reconcile(desired)
        with self.ports.session() as ovsdb:
            self._ovsdb = ovsdb
            self._owned_taps = self.ports.owned(ovsdb)
            try:
                return self._reconcile(desired)
            finally:
                self._ovsdb = None

    def _unplug_stale(self, want: Layout, result: Result) -> None:
        """OVS: the rows of taps of ours that no router wants (a router removed
        here or while no agent ran, a port replaced); those of routers that failed
        stay."""
        if self.ports is None or self._ovsdb is None:
            return
        wanted = {d.tap: spec.id for spec in want.routers.values()
                  for d in spec.devices.values()}
        failed = {router for router, _ in result.failed}
        for tap in interface.stale(self._owned_taps, wanted, failed):
            try:
                self.ports.unplug(self._ovsdb, tap)
            except Exception:  # noqa: BLE001 - the next sync tries again
                LOG.exception("unplugging %s from %s failed", tap, self.ports.bridge)
                continue
            result.actions.append(f"unplug {tap} from {self.ports.bridge}")

    def _reconcile(self, desired: L3State) -> Result:
        want = planning.layout(desired, self.settings)
        self._log_skipped(want)
        result = Result()
        present = [ns for ns in privileged.namespaces()
                   if ns.startswith(planning.NAMESPACE_PREFIX)]
        for namespace in planning.stale_namespaces(want, present):
            if not self._owned(namespace):
                continue
            try:
                self.remove(namespace, result)
            except Exception as error:  # noqa: BLE001 - the others must still converge
                LOG.exception("removing %s failed", namespace)
                result.failed.append((planning.router_of(namespace) or namespace,
                                      str(error)))
        self._remove_stale_proxies(want)
        announcements: list[tuple[RouterSpec, list[tuple[str, str, str]]]] = []
        with Kernel(self.host_namespace) as host:
            taps = host.links()
            for router_id, spec in sorted(want.routers.items()):
                announced: list[tuple[str, str, str]] = []
                announcements.append((spec, announced))
                try:
                    self.ensure(spec, host, taps, result, announced)
                except Exception as error:  # noqa: BLE001 - the others must still converge
                    LOG.exception("router %s failed", router_id)
                    result.failed.append((router_id, str(error)))
                    continue
                result.routers += 1
                result.ex_gw_ports += sum(1 for d in spec.devices.values() if d.gateway)
                result.interfaces += sum(1 for d in spec.devices.values() if not d.gateway)
                result.floating_ips += len(spec.floating_ips)
                if spec.router.get("vpn_services"):
                    result.vpn_routers[router_id] = spec.router
        # Last: an address that moved from one router to another is gone from the
        # first when the second announces it.
        for spec, announced in announcements:
            self._announce(spec, announced)
        self._unplug_stale(want, result)
        result.statuses = planning.floatingip_statuses(
            desired, want, failed=[router for router, _ in result.failed])
        return result

    def _remove_stale_proxies(self, want: Layout) -> None:
        keep = ({spec.namespace for spec in want.routers.values()}
                if self.settings.nat.enable_metadata_proxy else set())
        try:
            self.proxies.remove_stale(keep)
        except Exception:  # noqa: BLE001 - routing matters more; the next sync retries
            LOG.exception("removing stale metadata proxies failed")
        try:
            self.advertisements.remove_stale(
                {spec.namespace for spec in want.routers.values()})
        except Exception:  # noqa: BLE001 - as above
            LOG.exception("removing stale radvds failed")
        try:
            self.keepalived.remove_stale({spec.namespace for spec in want.routers.values()})
        except Exception:  # noqa: BLE001 - as above
            LOG.exception("removing stale keepaliveds failed")
        try:
            self.vpn.remove_stale({spec.namespace for spec in want.routers.values()})
        except Exception:  # noqa: BLE001 - as above
            LOG.exception("removing stale charons failed")

    def own_namespaces(self) -> list[str]:
        """The router namespaces of this agent on the machine."""
        return [ns for ns in privileged.namespaces()
                if ns.startswith(planning.NAMESPACE_PREFIX) and self._owned(ns)]

    def _owned(self, namespace: str) -> bool:
        """Ours: its loopback's alias names this agent's host; one without an alias
        (made by something else, or by an agent that crashed before marking it) is
        ours only when every router namespace of the machine is. One that another
        host's agent marked never is (tests play several hosts on one machine)."""
        alias = self._alias_of(namespace)
        if alias == self.owner_alias:
            return True
        return not alias and self.own_all_namespaces

    @staticmethod
    def _alias_of(namespace: str) -> str | None:
        try:
            with Kernel(namespace) as kernel:
                return kernel.link_alias("lo")
        except Exception:  # noqa: BLE001 - gone meanwhile, or not readable: not ours
            return "?"

    def remove(self, namespace: str, result: Result) -> None:
        router_id = planning.router_of(namespace) or namespace
        self.proxies.remove(router_id, namespace)
        self.advertisements.remove(router_id, namespace)
        self.keepalived.remove(router_id, namespace)
        self.vpn.remove(router_id, namespace)
        # Its qr-/qg- ends go with it, and so their veth peers, the taps.
        privileged.delete_namespace(namespace)
        result.actions.append(f"delete namespace {namespace}")
        LOG.info("router %s removed from this host", router_id)

    # -- one router --------------------------------------------------------------------

    def ensure(self, spec: RouterSpec, host: Kernel, taps: dict[str, Link],
               result: Result, announce: list[tuple[str, str, str]]) -> None:
        """Converge one router; the gratuitous ARPs it needs go to `announce` (also
        when some change failed)."""
        ns = spec.namespace
        have = self.snapshot(spec, taps)
        actions = planning.plan_router(spec, have)
        done: list[Action] = []
        errors: list[str] = []
        if actions and actions[0].op == "create_namespace":
            privileged.create_namespace(ns)  # lo up
            done.append(actions.pop(0))
        # The NAT and firewall tables as the kernel has them, in one listing.
        tables = self._nft_tables(spec, have.exists)
        # NAT before the addresses: a floating address that appears is translated
        # from its first packet on (the router never answers it itself).
        cut, forwards_gone = self._apply_nat(spec, result, tables)
        # The firewall before the addresses too: a new router never forwards
        # unfiltered (agent/l3/fwaas.py).
        self._apply_firewall(spec, result, tables)
        with Kernel(ns) as inner:
            if have.alias != self.owner_alias:
                inner.set_link_alias("lo", self.owner_alias)
            run = _Executor(ns, inner, host)
            for action in actions:
                try:
                    run(action)
                except Exception as error:  # noqa: BLE001 - one bad device must not stop the rest
                    LOG.error("router %s: %s failed: %s", spec.id, action, error)
                    errors.append(f"{action}: {error}")
                    continue
                done.append(action)
            errors += self._plug(spec, done, result)
            try:
                self._apply_qos(spec, inner, result)
            except Exception as error:  # noqa: BLE001 - routing matters more
                LOG.error("router %s: bandwidth limits failed: %s", spec.id, error)
                errors.append(f"qos: {error}")
        for action in done:
            LOG.info("router %s: %s", spec.id, action)
        result.actions += [f"{spec.id}: {a}" for a in done]
        announce += planning.announcements(spec, done)
        privileged.ensure_sysctls(planning.SYSCTLS, ns)
        if cut:
            # After the new table is in: a packet meanwhile would have made them anew.
            result.conntrack_deleted += self._cut_connections(spec, cut)
        if forwards_gone:
            result.conntrack_deleted += self._cut_forwarded(spec, forwards_gone)
        if errors:
            raise RuntimeError(f"{len(errors)} change(s) failed, first: {errors[0]}")
        if self.settings.nat.enable_metadata_proxy:
            self.proxies.ensure(spec.id, ns, spec.router)
        self.advertisements.ensure(spec.id, ns, spec.router)
        # After the links: keepalived's interfaces must be there when it starts.
        self.keepalived.ensure(spec.id, ns, spec.router)
        try:
            # After the links and the NAT table (its VPN exemptions): charon's
            # routes go through the gateway.
            self.vpn.ensure(spec.id, ns, spec.router)
        except Exception as error:  # noqa: BLE001 - routing matters more; the
            # services are reported ERROR and the next sync tries again
            LOG.error("router %s: IPsec (charon) failed: %s", spec.id, error)

    def _plug(self, spec: RouterSpec, done: list[Action], result: Result) -> list[str]:
        """OVS: the router's taps on the bridge, those whose veth pair was just made
        or that the bridge does not have as this router's; the errors."""
        if self.ports is None or self._ovsdb is None:
            return []
        made = {a.name for a in done if a.op == "add_veth"}
        errors = []
        for device in spec.devices.values():
            if device.name not in made and self._owned_taps.get(device.tap) == spec.id:
                continue
            try:
                self.ports.plug(self._ovsdb, device.tap, spec.id, device.port_id,
                                device.mac, spec.namespace, device.name)
            except Exception as error:  # noqa: BLE001 - the other devices still
                LOG.error("router %s: plugging %s into %s failed: %s", spec.id,
                          device.tap, self.ports.bridge, error)
                errors.append(f"plug {device.tap}: {error}")
                continue
            self._owned_taps[device.tap] = spec.id
            result.actions.append(f"{spec.id}: plug {device.tap} into {self.ports.bridge}")
        return errors

    def snapshot(self, spec: RouterSpec, taps: dict[str, Link]) -> RouterSnapshot:
        mine = {name: taps[name] for name in _taps_of(spec) if name in taps}
        if not privileged.namespace_exists(spec.namespace):
            return RouterSnapshot(exists=False, taps=mine)
        with Kernel(spec.namespace) as inner:
            links = inner.links()
            addresses = {name: inner.addresses(name) for name in links
                         if name.startswith(planning.DEVICE_PREFIXES)}
            routes = inner.gateway_routes()
            alias = inner.link_alias("lo")
        return RouterSnapshot(exists=True, links=links, addresses=addresses,
                              routes=routes, alias=alias, taps=mine)

    def _announce(self, spec: RouterSpec, announcements: list[tuple[str, str, str]]
                  ) -> None:
        if not announcements:
            return
        try:
            privileged.send_gratuitous_arp(announcements, spec.namespace,
                                           count=self.garp_count)
        except OSError as error:  # neighbours learn the address later by ARP anyway
            LOG.warning("router %s: gratuitous ARP failed: %s", spec.id, error)

    @staticmethod
    def _nft_tables(spec: RouterSpec, exists: bool) -> Tables | None:
        """The router namespace's nftables tables (none in a namespace just made);
        None when they could not be listed at once (each is then listed alone)."""
        if not exists:
            return {}
        try:
            return privileged.nft_tables(spec.namespace)
        except (privileged.CommandError, OSError, subprocess.SubprocessError) as error:
            LOG.warning("router %s: nftables not listed: %s", spec.id, error)
            return None

    def _apply_nat(self, spec: RouterSpec, result: Result, tables: Tables | None = None
                   ) -> tuple[dict[str, str], set[nat.Forwarded]]:
        """Make the router's NAT table the wanted one; the floating IP mappings and
        the port forwardings it held that went (their tracked connections are to be
        cut)."""
        ns = spec.namespace
        listing = tables.get((nat.FAMILY, nat.TABLE)) if tables is not None else \
            privileged.nft_list_table(nat.FAMILY, nat.TABLE, ns)
        have = nat.comment(listing)
        table = spec.nat
        if table is None:
            if have is None:
                return {}, set()
            privileged.nft_apply(nat.delete_batch(), ns)
            result.actions.append(f"{spec.id}: delete NAT table")
        elif have != table.comment:
            privileged.nft_apply(nat.replace_batch(table), ns)
            result.actions.append(f"{spec.id}: write NAT table")
            self._cut_exempted(spec, nat.exemptions(listing))
        else:
            return {}, set()
        return (nat.cut_mappings(nat.mappings(listing), table.mappings if table else {}),
                nat.forwarded(listing) - (table.forwarded if table else frozenset()))

    def _apply_firewall(self, spec: RouterSpec, result: Result,
                        tables: Tables | None = None) -> None:
        """Make the router's firewall table the wanted one (replaced whole when its
        digest differs, then the tracked connections of the ports whose filtering
        changed deleted, so the new rules meet their flows); what to report of its
        groups. A failure reports them ERROR and fails the router."""
        ns = spec.namespace
        table = fwaas.render(spec.router)
        listing: str | None
        try:
            listing = tables.get((fwaas.FAMILY, fwaas.TABLE)) if tables is not None \
                else privileged.nft_list_table(fwaas.FAMILY, fwaas.TABLE, ns)
            have = nat.comment(listing)
        except (privileged.CommandError, OSError, subprocess.SubprocessError) as error:
            if table is None:  # nothing wanted: routing must not wait on the check
                LOG.warning("router %s: firewall table not checked: %s", spec.id, error)
                return
            listing, have = None, "?"  # unknown: written anew below, all cut
        try:
            if table is None and have is not None:
                privileged.nft_apply(fwaas.delete_batch(), ns)
                result.actions.append(f"{spec.id}: delete firewall table")
            elif table is not None and have != table.comment:
                privileged.nft_apply(fwaas.replace_batch(table), ns)
                result.actions.append(f"{spec.id}: write firewall table")
                LOG.info("router %s: firewall groups %s applied", spec.id,
                         ", ".join(sorted(table.statuses)))
                result.conntrack_deleted += self._cut_filtered(
                    spec, None if have == "?" else fwaas.changed_ports(
                        fwaas.listed_ports(listing), table))
        except Exception:
            result.firewall_statuses.update({
                g: (s, "ERROR") for g, (s, _) in fwaas.reports(spec.router, table).items()})
            raise
        result.firewall_statuses.update(fwaas.reports(spec.router, table))

    def _cut_exempted(self, spec: RouterSpec, had: set[tuple[str, str]]) -> None:
        """VPNaaS: delete the tracked connections between the local and peer CIDRs
        of site connections new to the NAT table: one that began before the tunnel
        (SNATed out of the gateway) would keep its translation, and the tunnel
        would not take its packets."""
        for local, peer in sorted(set(vpn_render.nat_exemptions(spec.router)) - had):
            privileged.execute(["conntrack", "-D", "-f", "ipv4", "-s", local, "-d", peer],
                               spec.namespace, check=False)  # 1: none to delete

    def _cut_filtered(self, spec: RouterSpec, devices: list[str] | None) -> int:
        """Delete the tracked connections through `devices` (their subnets and
        floating IPs: fwaas.cut_addresses); None: the kernel's table was unknown,
        every connection of the router goes."""
        ns = spec.namespace
        if devices is None:
            privileged.execute(["conntrack", "-F"], ns, check=False)
            LOG.info("router %s: firewall changed, its tracked connections flushed",
                     spec.id)
            return 0
        gone: list[conntrack.Entry] = []
        try:
            for version, cidrs in fwaas.cut_addresses(spec.router, devices).items():
                entries = conntrack.parse(privileged.conntrack_list(version, cidrs, ns))
                gone += fwaas.connections_to_cut(entries, cidrs)
            privileged.conntrack_delete(conntrack.delete_batch(gone), ns)
        except (privileged.CommandError, OSError, subprocess.SubprocessError) as error:
            LOG.warning("router %s: could not delete the tracked connections of "
                        "firewalled ports %s: %s", spec.id, ", ".join(devices), error)
            return 0
        if gone:
            LOG.info("router %s: firewall changed on %s, %d tracked connection(s) "
                     "deleted", spec.id, ", ".join(devices), len(gone))
        return len(gone)

    def _cut_connections(self, spec: RouterSpec, cut: dict[str, str]) -> int:
        """Delete the tracked connections of floating IP mappings that went."""
        ns = spec.namespace
        try:
            entries = conntrack.parse(privileged.conntrack_list(
                4, nat.addresses_to_list(cut), ns))
            gone = nat.connections_to_cut(entries, cut, nat.internal_networks(spec.router))
            privileged.conntrack_delete(conntrack.delete_batch(gone), ns)
        except (privileged.CommandError, OSError, subprocess.SubprocessError) as error:
            LOG.warning("router %s: could not delete the tracked connections of %s: %s",
                        spec.id, ", ".join(sorted(cut)), error)
            return 0
        if gone:
            LOG.info("router %s: deleted %d tracked connection(s) of floating IP(s) %s",
                     spec.id, len(gone), ", ".join(sorted(cut)))
        return len(gone)

    def _apply_qos(self, spec: RouterSpec, inner: Kernel, result: Result) -> None:
        """The router's floating IP and gateway bandwidth limits (qos.py): rebuilt
        whole when the digest on its ifb differs, removed when none is wanted."""
        ns = spec.namespace
        want = l3qos.plan(spec.router)
        links = inner.links()
        ifbs = {name: inner.link_alias(name) for name in links
                if name.startswith(l3qos.IFB_PREFIX)}
        if l3qos.up_to_date(want, ifbs) and (want is None or l3qos.qdiscs_in_place(
                want, privileged.tc_json(["qdisc", "show", "dev", want.device], ns))):
            return
        for device in sorted(n for n in links if n.startswith(nat.GATEWAY_PREFIX)):
            for command in l3qos.teardown(device):
                privileged.execute(["tc", *command], ns, check=False)
        for ifb in sorted(ifbs):
            inner.delete(ifb)
        if want is None:
            result.actions.append(f"{spec.id}: remove bandwidth limits")
            return
        privileged.ensure_ifb(want.ifb, ns)
        for command in want.commands:
            privileged.tc(list(command), ns)
        # Last: a set-up that failed half way has no digest and is rebuilt next time.
        inner.set_link_alias(want.ifb, want.alias)
        result.actions.append(f"{spec.id}: write bandwidth limits")
        LOG.info("router %s: bandwidth limits on %s", spec.id,
                 ", ".join(a.address for a in l3qos.address_limits(spec.router)))

    def _cut_forwarded(self, spec: RouterSpec, gone: set[nat.Forwarded]) -> int:
        """Delete the tracked connections of port forwardings that went."""
        ns = spec.namespace
        addresses = sorted({g.floating for g in gone}, key=ipaddress.ip_address)
        try:
            entries = conntrack.parse(privileged.conntrack_list(4, addresses, ns))
            doomed = nat.forwardings_to_cut(entries, gone)
            privileged.conntrack_delete(conntrack.delete_batch(doomed), ns)
        except (privileged.CommandError, OSError, subprocess.SubprocessError) as error:
            LOG.warning("router %s: could not delete the tracked connections of port "
                        "forwardings on %s: %s", spec.id, ", ".join(addresses), error)
            return 0
        if doomed:
            LOG.info("router %s: deleted %d tracked connection(s) of port forwardings "
                     "on %s", spec.id, len(doomed), ", ".join(addresses))
        return len(doomed)

    def _log_skipped(self, want: Layout) -> None:
        for router_id, why in want.skipped.items():
            if self._skipped_logged.get(router_id) != why:
                LOG.info("router %s not realised on this host: %s", router_id, why)
        self._skipped_logged = dict(want.skipped)


def _taps_of(spec: RouterSpec) -> set[str]:
    return {device.tap for device in spec.devices.values()}


class _Executor:
    """Runs the plan's actions: the router namespace's links through `inner`, the
    taps through `host`."""

    def __init__(self, namespace: str, inner: Kernel, host: Kernel) -> None:
        self.namespace = namespace
        self.inner = inner
        self.host = host
        self.ops: dict[str, Callable[..., None]] = {
            "delete_link": self.delete_link, "add_veth": self.add_veth,
            "set_link": inner.set_link, "set_tap": self.set_tap,
            "add_address": self.add_address, "delete_address": self.delete_address,
            "add_route": self.add_route, "delete_route": self.delete_route}

    def __call__(self, action: Action) -> None:
        self.ops[action.op](action.name, **action.kwargs())

    def delete_link(self, name: str) -> None:
        self.inner.delete(name)

    def add_veth(self, name: str, tap: str) -> None:
        # Either end alone is a pair half made (an agent that crashed), or a link
        # of a port recreated: both go, the pair is made anew.
        self.inner.delete(name)
        self.host.delete(tap)
        self.host.delete(name)
        self.host.add_veth(tap, name, peer_namespace=self.namespace)

    def set_tap(self, name: str, mtu: int | None = None, up: bool | None = None) -> None:
        self.host.set_link(name, mtu=mtu, up=up)

    def add_address(self, name: str, address: str) -> None:
        ip, prefixlen = address.split("/")
        self.inner.add_address(name, ip, int(prefixlen))

    def delete_address(self, name: str, address: str) -> None:
        ip, prefixlen = address.split("/")
        self.inner.delete_address(name, ip, int(prefixlen))

    def add_route(self, destination: str, via: str) -> None:
        self.inner.add_route(destination, via)

    def delete_route(self, destination: str, via: str) -> None:
        self.inner.delete_route(destination, via)
