"""Dataplane benchmark on Open vSwitch: bench/dataplane.py's figures with the Open
vSwitch agent in place of the Linux bridge agent.

    sudo .venv/bin/python bench/ovs_dataplane.py [--rounds 5] [--many 100] [--resync 500]
                                                 [--polling-interval 2]

The same server, VMs, pinger and figures as bench/dataplane.py (port create →
ACTIVE / → pingable, N ports, security-group rule added / deleted → in effect, the
syncs of a host with --resync ports); here the host runs a private ovsdb-server and
ovs-vswitchd (tests/dataplane/ovs_host.py, datapath netdev: the userspace datapath,
this kernel has no OVS module), the server the openvswitch mechanism driver, the
agent the OpenFlow firewall (firewall_driver = openvswitch); VMs are plugged as
``neutrino-vif --mode ovs`` does (veth, the tap a port of br-int with its iface-id).
For the resync figures the --resync ports are OVS internal ports of br-int with
their iface-id (a hypervisor's ports, present, no VM), added in one OVSDB
transaction. Everything it creates is removed at the end.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def _linuxbridge_bench():  # type: ignore[no-untyped-def]
    """bench/dataplane.py as a module (its name is the tests' dataplane package's)."""
    spec = importlib.util.spec_from_file_location("bench_dataplane",
                                                  ROOT / "bench" / "dataplane.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_dataplane"] = module
    spec.loader.exec_module(module)
    return module


lb_bench = _linuxbridge_bench()

from oslo_config import cfg  # noqa: E402

from dataplane.ovs_host import OvsHost, available  # noqa: E402  (tests/dataplane)
from neutrino.agent import vif as vif_mod  # noqa: E402
from neutrino.agent.ovs import config as ovs_config  # noqa: E402
from neutrino.agent.ovs.agent import OpenvswitchAgent  # noqa: E402
from neutrino.agent.ovs.privileged import Ovsdb  # noqa: E402

SERVER_CONF = "[ml2]\nmechanism_drivers = openvswitch\n"


class OvsBench(lb_bench.Bench):
    """bench/dataplane.py's Bench with the Open vSwitch agent and its switch."""

    def __init__(self, args: argparse.Namespace, *rest: object) -> None:
        self.rundir = Path(tempfile.mkdtemp(prefix="bench-ovs-"))
        self.ovs: OvsHost | None = None
        super().__init__(args, *rest)  # type: ignore[arg-type]

    def agent_conf(self) -> cfg.ConfigOpts:
        conf = cfg.ConfigOpts()
        ovs_config.register_opts(conf)
        conf(args=[])
        conf.set_override("transport_url", self.bus_url)
        conf.set_override("host", getattr(self, "host", "bench"))
        conf.set_override("state_path", str(self.rundir))
        conf.set_override("rpc_response_timeout", 60)
        conf.set_override("ovsdb_connection", f"unix:{self.rundir}/db.sock", group="ovs")
        conf.set_override("ovs_rundir", str(self.rundir), group="ovs")
        conf.set_override("datapath_type", "netdev", group="ovs")
        conf.set_override("local_ip", lb_bench.LOCAL_IP, group="ovs")
        conf.set_override("tunnel_types", ["vxlan"], group="AGENT")
        conf.set_override("polling_interval", self.args.polling_interval, group="AGENT")
        conf.set_override("report_interval", 5, group="AGENT")
        conf.set_override("resync_interval", 600, group="AGENT")
        conf.set_override("firewall_driver", "openvswitch", group="securitygroup")
        return conf

    def new_agent(self) -> OpenvswitchAgent:  # type: ignore[override]
        return OpenvswitchAgent(self.agent_conf(), transport=self.rpc)

    def setup(self) -> None:
        self.ovs = OvsHost(self.rundir, self.host_ns).start()
        super().setup()

    def plug(self, port: dict) -> str:
        namespace = f"{self.topo.prefix}vm-{port['id'][:8]}"
        self.topo.namespaces.append(namespace)
        ip = port["fixed_ips"][0]["ip_address"]
        vif_mod.plug(vif_mod.Vif(port_id=port["id"], mac=port["mac_address"],
                                 namespace=namespace, host_namespace=self.host_ns,
                                 addresses=[f"{ip}/{lb_bench.PREFIX}"], mtu=1450,
                                 ovs=vif_mod.OvsPlug(f"unix:{self.rundir}/db.sock")))
        return namespace

    def unplug(self, port: dict, namespace: str) -> None:
        vif_mod.unplug(port["id"], namespace=namespace, host_namespace=self.host_ns,
                       ovs=vif_mod.OvsPlug(f"unix:{self.rundir}/db.sock"))
        self.topo.namespaces.remove(namespace)

    def make_taps(self, ports: list[dict]) -> None:
        """The ports as a hypervisor leaves them on br-int: present (internal ports
        with their iface-id, one transaction), no VM; waits for their ofports."""
        db = Ovsdb(f"unix:{self.rundir}/db.sock")
        try:
            with db.api.transaction(check_error=True) as txn:
                for port in ports:
                    tap = vif_mod.tap_name(port["id"])
                    txn.add(db.api.add_port("br-int", tap, may_exist=True))
                    txn.add(db.api.db_set(
                        "Interface", tap, ("type", "internal"),
                        ("external_ids", {"iface-id": port["id"],
                                          "attached-mac": port["mac_address"]})))
            deadline = time.monotonic() + 300
            wanted = {p["id"] for p in ports}
            while time.monotonic() < deadline and sum(
                    1 for p in db.observe().ports.values()
                    if p.iface_id in wanted and p.ofport > 0) < len(wanted):
                time.sleep(0.2)
        finally:
            db.close()

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.ovs is not None:
                self.ovs.stop()
            shutil.rmtree(self.rundir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    why = available()
    if why:
        print(f"bench/ovs_dataplane.py: {why}", file=sys.stderr)
        return 2
    return lb_bench.main(argv, bench_class=OvsBench, server_conf=SERVER_CONF,
                         description=__doc__.splitlines()[0])


if __name__ == "__main__":
    sys.exit(main())
