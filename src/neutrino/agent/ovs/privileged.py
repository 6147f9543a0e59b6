"""The Open vSwitch agent's one door to the switch: OVSDB through ovsdbapp (one
connection, a transaction per batch of changes, its IDL also the port monitor) and
OpenFlow through ``ovs-ofctl`` bundles (atomic: a bridge's flows change all at once
or not at all).

Nothing here decides; the reconciler (plan.py's actions and flows) does.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterable
from typing import Any

from ovs.db import idl as ovs_idl
from ovsdbapp.backend.ovs_idl import connection
from ovsdbapp.schema.open_vswitch import impl_idl

from neutrino.agent.ovs.plan import Observed, OvsPort

LOG = logging.getLogger(__name__)

TABLES = ("Open_vSwitch", "Bridge", "Port", "Interface")
OF_PROTOCOLS = "OpenFlow10,OpenFlow13,OpenFlow14,OpenFlow15"


class _Idl(connection.OvsdbIdl):  # type: ignore[misc]
    """The IDL, telling `on_change` of interfaces coming and going (what upstream's
    OVSDB monitor is for: a VM port plugged triggers a sync, no polling)."""

    on_change: Callable[[str], None] | None = None

    def notify(self, event: str, row: Any, updates: Any = None) -> None:
        try:
            table = getattr(getattr(row, "_table", None), "name", None)
            if table != "Interface" or self.on_change is None:
                return
            if event in (ovs_idl.ROW_CREATE, ovs_idl.ROW_DELETE) or (
                    updates is not None and "ofport" in (getattr(updates, "_data", None) or {})):
                self.on_change(f"interface {getattr(row, 'name', '?')} {event}")
        except Exception:  # noqa: BLE001 - a monitor callback must not kill the IDL
            LOG.exception("interface change callback failed")


class Ovsdb:
    """One ovsdb-server (``connection``: unix:/path or tcp:host:port)."""

    def __init__(self, target: str, timeout: float = 10.0,
                 on_change: Callable[[str], None] | None = None) -> None:
        helper = connection.idlutils.get_schema_helper(target, "Open_vSwitch")
        for table in TABLES:
            helper.register_table(table)
        idl = _Idl(target, helper)
        idl.on_change = on_change
        self._conn = connection.Connection(idl, timeout)
        # ovsdbapp keeps a backend's connection on its class (one per process, set
        # once): a class of its own per instance lets several connections live in
        # one process (two agents of a test, a reconnect after close()).
        api_class = type("OvsdbIdl", (impl_idl.OvsdbIdl,), {"_ovsdb_connection": None})
        self.api = api_class(self._conn)
        self._lock = threading.Lock()

    def close(self) -> None:
        try:
            self._conn.stop()
        except Exception:  # noqa: BLE001 - closing what may be half-open
            pass

    # -- reading --------------------------------------------------------------------

    def observe(self) -> Observed:
        """Bridges and their ports (one interface each) as OVSDB has them now."""
        out = Observed()
        tables = self._conn.idl.tables
        ifaces: dict[Any, Any] = {}
        for iface in tables["Interface"].rows.values():
            ifaces[iface.uuid] = iface
        for bridge in tables["Bridge"].rows.values():
            out.bridges.add(bridge.name)
            for port in bridge.ports:
                iface = port.interfaces[0] if port.interfaces else None
                if iface is None:
                    continue
                ofport = iface.ofport[0] if iface.ofport else -1
                tag = port.tag[0] if port.tag else None
                out.ports[port.name] = OvsPort(
                    name=port.name, bridge=bridge.name, ofport=int(ofport),
                    type=iface.type, options=tuple(sorted(dict(iface.options).items())),
                    iface_id=dict(iface.external_ids).get("iface-id"),
                    tag=tag, net_uuid=dict(port.other_config).get("net_uuid"),
                    trunks=tuple(sorted(int(t) for t in port.trunks)))
        return out

    # -- changing: the plan's Action ops -------------------------------------------------

    def apply(self, actions: Iterable[tuple[str, str, dict[str, object]]]) -> None:
        """Several changes in one OVSDB transaction."""
        with self._lock, self.api.transaction(check_error=True) as txn:
            for op, name, kwargs in actions:
                for command in getattr(self, "_" + op)(name, **kwargs):
                    txn.add(command)

    def _add_bridge(self, name: str, datapath_type: str) -> list[Any]:
        return [self.api.add_br(name, may_exist=True, datapath_type=datapath_type),
                # secure: without a controller the switch forwards by our flows
                # only (standalone would fall back to NORMAL on its own).
                self.api.db_set("Bridge", name, ("fail_mode", "secure"),
                                ("protocols", OF_PROTOCOLS.split(","))),
                self.api.db_set("Bridge", name, ("other_config", {"mac-table-size": "50000"}))]

    def _add_patch(self, name: str, bridge: str, peer: str) -> list[Any]:
        return [self.api.add_port(bridge, name, may_exist=True),
                self.api.db_set("Interface", name, ("type", "patch"),
                                ("options", {"peer": peer}))]

    def _add_tunnel(self, name: str, bridge: str,
                    options: tuple[tuple[str, str], ...]) -> list[Any]:
        return [self.api.add_port(bridge, name, may_exist=True),
                self.api.db_set("Interface", name, ("type", "vxlan"),
                                ("options", dict(options)))]

    def _add_trunk_patch(self, name: str, bridge: str, peer: str, tag: int | None,
                         trunks: tuple[int, ...], iface_id: str | None, mac: str | None
                         ) -> list[Any]:
        """A trunk's patch port (agent/ovs/trunk.py), made or remade whole."""
        ids = {"iface-id": iface_id, "attached-mac": mac or "",
               "iface-status": "active"} if iface_id else {}
        cmds = [self.api.add_port(bridge, name, may_exist=True),
                self.api.db_set("Interface", name, ("type", "patch"),
                                ("options", {"peer": peer}), ("external_ids", ids))]
        # Set whole (an empty set clears): db_clear cannot read a row new in this
        # transaction. other_config:net_uuid is the plan's set_port_vlan's (next sync).
        cmds.append(self.api.db_set("Port", name, ("tag", [] if tag is None else tag),
                                    ("trunks", list(trunks))))
        return cmds

    def _delete_port(self, name: str, bridge: str) -> list[Any]:
        return [self.api.del_port(name, bridge=bridge, if_exists=True)]

    def _set_port_vlan(self, name: str, tag: int, net_uuid: str | None) -> list[Any]:
        other = {"net_uuid": net_uuid} if net_uuid else {}
        cmds = [self.api.db_set("Port", name, ("tag", tag))]
        if other:
            cmds.append(self.api.db_set("Port", name, ("other_config", other)))
        else:
            cmds.append(self.api.db_remove("Port", name, "other_config", "net_uuid",
                                           if_exists=True))
        return cmds

    # -- a hypervisor's side (neutrino.agent.vif's ovs mode) --------------------------------

    def plug_vm_port(self, bridge: str, name: str, port_id: str, mac: str,
                     vm_uuid: str, extra_ids: dict[str, str] | None = None) -> None:
        """Add a VM's port as Nova/os-vif does: external_ids iface-id, attached-mac,
        iface-status, vm-uuid (what the agent finds the port by), and `extra_ids`
        (the DHCP agent's owner marks)."""
        ids = {"iface-id": port_id, "attached-mac": mac.lower(), "iface-status": "active",
               "vm-uuid": vm_uuid, **(extra_ids or {})}
        with self._lock, self.api.transaction(check_error=True) as txn:
            txn.add(self.api.add_port(bridge, name, may_exist=True))
            txn.add(self.api.db_set("Interface", name, ("external_ids", ids)))

    def unplug_port(self, name: str) -> None:
        with self._lock, self.api.transaction(check_error=True) as txn:
            txn.add(self.api.del_port(name, if_exists=True))


# -- OpenFlow ----------------------------------------------------------------------------

class OpenFlow:
    """Flows through ``ovs-ofctl``: `sync` brings one bridge's flows of a cookie to
    exactly the given ones (the difference only, in one bundle)."""

    def __init__(self, rundir: str = "/var/run/openvswitch") -> None:
        self.rundir = rundir

    def _target(self, bridge: str) -> str:
        return f"unix:{os.path.join(self.rundir, bridge)}.mgmt"

    def _run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = ["ovs-ofctl", "-O", "OpenFlow14", *args]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                                check=False)
        if check and result.returncode not in (0,):
            raise RuntimeError(f"{' '.join(cmd)}: {result.stderr.strip()}")
        return result

    def dump(self, bridge: str, cookie: int | None = None) -> list[str]:
        args = ["dump-flows", "--no-stats", self._target(bridge)]
        if cookie is not None:
            args.append(f"cookie={cookie:#x}/-1")
        return [line.strip() for line in self._run(args).stdout.splitlines()
                if line.strip() and not line.startswith("OFPST_FLOW")]

    def sync(self, bridge: str, flows: list[str], cookie: int) -> int:
        """Make the bridge's flows with `cookie` exactly `flows`; others untouched.
        The number of flow changes made."""
        with tempfile.NamedTemporaryFile("w", suffix=".flows") as wanted:
            wanted.write("\n".join(flows) + "\n")
            wanted.flush()
            # diff-flows parses both sides the same way: no textual normalisation.
            diff = self._run(["diff-flows", self._target(bridge), wanted.name],
                             check=False)
        if diff.returncode not in (0, 2):
            raise RuntimeError(f"ovs-ofctl diff-flows {bridge}: {diff.stderr.strip()}")
        changes = flow_changes(diff.stdout.splitlines(), cookie)
        if not changes:
            return 0
        with tempfile.NamedTemporaryFile("w", suffix=".bundle") as bundle:
            bundle.write("\n".join(changes) + "\n")
            bundle.flush()
            self._run(["--bundle", "add-flows", self._target(bridge), bundle.name])
        return len(changes)


_COOKIE = re.compile(r"(?:^|[ ,])cookie=(0x[0-9a-f]+|\d+)")


def flow_changes(diff_lines: Iterable[str], cookie: int) -> list[str]:
    """``ovs-ofctl diff-flows`` output -> the bundle's lines (pure): flows of our
    cookie only in the switch are deleted (strictly, by table, priority, match and
    cookie), flows only wanted are added (an add replaces a flow of the same match:
    changed actions take effect without the flow ever missing)."""
    adds: list[str] = []
    added_matches: set[str] = set()
    deletes: list[tuple[str, str]] = []
    for line in diff_lines:
        if not line or line[0] not in "+-":
            continue
        sign, text = line[0], line[1:].strip()
        found = _COOKIE.search(text)
        value = int(found.group(1), 0) if found else 0
        if value != cookie:
            continue  # another owner's flow (the firewall's, another tool's)
        head, _, _actions = text.partition(" actions=")
        fields = [f for part in head.split() for f in part.split(",")
                  if f and not f.startswith("cookie=")]
        match = ",".join(fields)
        if sign == "+":
            adds.append("add " + text)
            added_matches.add(match)
        else:
            deletes.append((match, f"delete_strict {match},cookie={cookie:#x}/-1"))
    return [line for match, line in deletes if match not in added_matches] + adds


OVS_CTL = "/usr/share/openvswitch/scripts/ovs-ctl"


def _running(pidfile: str) -> bool:
    try:
        with open(pidfile) as f:
            os.kill(int(f.read().strip()), 0)
    except (OSError, ValueError):
        return False
    return True


def ensure_switch_running(rundir: str) -> None:
    """ovsdb-server and ovs-vswitchd of `rundir` running: started with Debian's
    ``ovs-ctl start --system-id=random`` when either is not (what the
    openvswitch-switch service does; it skips loading the kernel module where the
    kernel has no module support, and the userspace datapath needs none). For the
    all-in-one; a separately run agent expects the operator's switch."""
    if all(_running(os.path.join(rundir, f"{name}.pid"))
           for name in ("ovsdb-server", "ovs-vswitchd")):
        return
    LOG.info("ovsdb-server/ovs-vswitchd not running in %s: starting them (ovs-ctl)",
             rundir)
    result = subprocess.run([OVS_CTL, "start", "--system-id=random"],
                            env={**os.environ, "OVS_RUNDIR": rundir}, capture_output=True,
                            text=True, timeout=120, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"ovs-ctl start: {(result.stderr or result.stdout).strip()}")
