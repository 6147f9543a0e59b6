"""``neutrino debug``: neutron-debug's probes. A probe is a port on a network
(device_owner ``network:probe``, bound to this host) plugged into a namespace
``qprobe-<port id>`` on this host the way ``neutrino-vif`` plugs a VM (agent/vif.py:
a veth whose host end is ``tap<port[:11]>``, which this host's L2 agent puts in the
network's bridge), so that commands run inside it test the network from within.

    probe-create NETWORK     create and plug a probe (root)
    probe-list               the probes (of this host unless --all-hosts)
    probe-exec PROBE CMD...  run CMD in the probe's namespace (root)
    probe-delete PROBE       unplug and delete (root)
    probe-clear              every probe of this host (root)
    ping-all [PROBE]         ping every fixed IP of the probes' networks (root)
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
import subprocess
from typing import Any

from rich.text import Text

from neutrino.cli.client import ApiError, Client
from neutrino.cli.output import Output

# The host side (agent/vif.py, the privileged module) is imported by the functions that
# touch the host: pyroute2 takes about a second to import, which `neutrino status` and
# the rest would otherwise pay.

DEVICE_OWNER = "network:probe"
NAMESPACE_PREFIX = "qprobe-"


def namespace(port_id: str) -> str:
    return NAMESPACE_PREFIX + port_id


def _need_root() -> None:
    from neutrino.agent.common import privileged
    if not privileged.is_root():
        raise ApiError("this needs root (namespaces, links)")


def _network(client: Client, given: str) -> dict[str, Any]:
    try:
        return client.show("network", "networks", given)
    except ApiError as error:
        if error.status != 404:
            raise
    found = client.list("networks", params={"name": given})
    if len(found) != 1:
        raise ApiError(f"no network {given}" if not found else
                       f"{len(found)} networks are named {given}: use an id")
    return found[0]


def _probe(client: Client, given: str) -> dict[str, Any]:
    """A probe by port id, or by a unique prefix of it among this host's probes."""
    try:
        port = client.show("port", "ports", given)
    except ApiError as error:
        if error.status != 404:
            raise
        matches = [p for p in client.list("ports", params={"device_owner": DEVICE_OWNER})
                   if p["id"].startswith(given)]
        if len(matches) != 1:
            raise ApiError(f"no probe {given}" if not matches else
                           f"{given} is the start of {len(matches)} probes") from None
        port = matches[0]
    if port.get("device_owner") != DEVICE_OWNER:
        raise ApiError(f"port {port['id']} is no probe (device_owner "
                       f"{port.get('device_owner')!r})")
    return port


def addressing(client: Client, port: dict[str, Any]) -> tuple[list[str], str | None]:
    """The port's fixed IPs with prefix lengths, and the first IPv4 gateway."""
    addresses, gateway = [], None
    for fixed in port.get("fixed_ips") or []:
        subnet = client.show("subnet", "subnets", fixed["subnet_id"])
        addresses.append(f"{fixed['ip_address']}/"
                         f"{ipaddress.ip_network(subnet['cidr']).prefixlen}")
        if gateway is None and subnet.get("gateway_ip") and subnet["ip_version"] == 4:
            gateway = subnet["gateway_ip"]
    return addresses, gateway


def create(args: argparse.Namespace, client: Client, out: Output) -> int:
    from neutrino.agent import vif as vif_mod
    _need_root()
    network = _network(client, args.network)
    body: dict[str, Any] = {
        "network_id": network["id"], "device_owner": DEVICE_OWNER,
        "device_id": f"probe-{args.host}", "name": f"probe-{args.host}",
        "binding:host_id": args.host}
    if args.no_port_security:
        body["port_security_enabled"] = False
    port = client.request("POST", "/v2.0/ports", {"port": body})["port"]
    try:
        addresses, gateway = addressing(client, port)
        vif_mod.plug(vif_mod.Vif(port_id=port["id"], mac=port["mac_address"],
                                 namespace=namespace(port["id"]),
                                 host_namespace=args.host_netns, addresses=addresses,
                                 gateway=gateway, mtu=network.get("mtu")))
    except Exception:
        # A probe half made is worse than none: the port goes with the namespace.
        vif_mod.unplug(port["id"], namespace(port["id"]), args.host_netns)
        client.request("DELETE", f"/v2.0/ports/{port['id']}")
        raise
    info = {"id": port["id"], "network_id": network["id"], "namespace":
            namespace(port["id"]), "tap": vif_mod.tap_name(port["id"]),
            "addresses": addresses, "gateway": gateway, "host": args.host}
    if out.json:
        out.document({"probe": info})
    else:
        out.table("probe created", list(info), [list(info.values())])
    return 0


def list_probes(args: argparse.Namespace, client: Client, out: Output) -> int:
    from neutrino.agent.common import privileged
    params: dict[str, Any] = {"device_owner": DEVICE_OWNER}
    if not args.all_hosts:
        params["binding:host_id"] = args.host
    probes = client.list("ports", params=params)
    here = set(privileged.namespaces())
    rows = [{"id": p["id"], "network_id": p["network_id"], "host": p.get("binding:host_id"),
             "addresses": [f["ip_address"] for f in p.get("fixed_ips") or []],
             "status": p.get("status"), "namespace": namespace(p["id"]),
             "plugged_here": namespace(p["id"]) in here} for p in probes]
    if out.json:
        out.document({"probes": rows})
    else:
        out.table(f"probes ({len(rows)})", ["id", "network", "host", "addresses", "status",
                                            "namespace here"],
                  [[r["id"], r["network_id"], r["host"], r["addresses"], r["status"],
                    r["plugged_here"]] for r in rows])
    return 0


def delete(args: argparse.Namespace, client: Client, out: Output) -> int:
    _need_root()
    port = _probe(client, args.probe)
    _remove(client, port, args.host_netns)
    out.note(f"probe {port['id']} deleted")
    return 0


def _remove(client: Client, port: dict[str, Any], host_netns: str | None) -> None:
    from neutrino.agent import vif as vif_mod
    vif_mod.unplug(port["id"], namespace(port["id"]), host_netns)
    try:
        client.request("DELETE", f"/v2.0/ports/{port['id']}")
    except ApiError as error:
        if error.status != 404:
            raise


def clear(args: argparse.Namespace, client: Client, out: Output) -> int:
    _need_root()
    probes = client.list("ports", params={"device_owner": DEVICE_OWNER,
                                          "binding:host_id": args.host})
    with out.progress("deleting probes", len(probes)) as advance:
        for port in probes:
            _remove(client, port, args.host_netns)
            advance()
    out.note(f"{len(probes)} probe(s) deleted")
    return 0


def execute(args: argparse.Namespace, client: Client, out: Output) -> int:
    from neutrino.agent.common import privileged
    _need_root()
    port = _probe(client, args.probe)
    if not args.cmd:
        raise ApiError("no command given")
    ns = namespace(port["id"])
    if not privileged.namespace_exists(ns):
        raise ApiError(f"probe {port['id']} is not plugged on this host (no {ns})")
    # The command's own output goes straight to the terminal; its status is ours.
    return subprocess.run(privileged.in_namespace(args.cmd, ns), check=False).returncode


def ping_all(args: argparse.Namespace, client: Client, out: Output) -> int:
    _need_root()
    if args.probe:
        probes = [_probe(client, args.probe)]
    else:
        probes = client.list("ports", params={"device_owner": DEVICE_OWNER,
                                              "binding:host_id": args.host})
    targets = []
    for probe in probes:
        for port in client.list("ports", params={"network_id": probe["network_id"]}):
            if port["id"] == probe["id"]:
                continue
            if not args.include_all and port.get("device_owner") == DEVICE_OWNER:
                continue
            targets += [(probe, port, f["ip_address"]) for f in port.get("fixed_ips") or []]
    results = []
    with out.progress("pinging", len(targets)) as advance:
        for probe, port, address in targets:
            results.append({"probe": probe["id"], "port": port["id"],
                            "device_owner": port.get("device_owner"), "address": address,
                            "reachable": _ping(namespace(probe["id"]), address,
                                               args.timeout)})
            advance()
    if out.json:
        out.document({"results": results})
    else:
        out.table(f"ping-all ({len(results)} addresses)",
                  ["probe", "address", "port", "owner", "reachable"],
                  [[r["probe"][:11], r["address"], r["port"], r["device_owner"],
                    Text("yes", style="green") if r["reachable"] else
                    Text("NO", style="bold red")] for r in results])
    return 0 if all(r["reachable"] for r in results) else 1


def _ping(ns: str, address: str, timeout: int) -> bool:
    from neutrino.agent.common import privileged
    tool = ["ping", "-6"] if ipaddress.ip_address(address).version == 6 else ["ping"]
    cmd = [*tool, "-c", "1", "-W", str(timeout), address]
    try:
        privileged.execute(cmd, ns, timeout=timeout + 5)
        return True
    except (privileged.CommandError, subprocess.TimeoutExpired):
        return False


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    cmd = sub.add_parser("debug", parents=[common], help="probes inside networks",
                         description="neutron-debug's probes: a port on a network "
                                     "(device_owner network:probe, bound to this host) "
                                     "plugged into a namespace qprobe-<port id> here, to "
                                     "test the network from inside.")
    actions = cmd.add_subparsers(dest="action", required=True, metavar="ACTION")
    host = argparse.ArgumentParser(add_help=False)
    host.add_argument("--host", default=socket.gethostname(),
                      help="binding:host_id of probes (default: this machine's name)")
    host.add_argument("--host-netns", default=None,
                      help="the namespace the probes' taps go in (default: this one; "
                           "another to play a host in a namespace, as neutrino-vif)")
    new = actions.add_parser("probe-create", parents=[common, host],
                             help="create a probe on a network and plug it here (root)")
    new.add_argument("network", help="network id or name")
    new.add_argument("--no-port-security", action="store_true",
                     help="create the probe's port with port security off")
    new.set_defaults(func=create)
    listing = actions.add_parser("probe-list", parents=[common, host],
                                 help="list the probes of this host")
    listing.add_argument("--all-hosts", action="store_true", help="of every host")
    listing.set_defaults(func=list_probes)
    gone = actions.add_parser("probe-delete", parents=[common, host],
                              help="unplug and delete a probe (root)")
    gone.add_argument("probe", help="probe's port id (or a unique prefix)")
    gone.set_defaults(func=delete)
    actions.add_parser("probe-clear", parents=[common, host],
                       help="delete every probe of this host (root)").set_defaults(func=clear)
    run = actions.add_parser("probe-exec", parents=[common, host],
                             help="run a command in a probe's namespace (root)")
    run.add_argument("probe", help="probe's port id (or a unique prefix)")
    run.add_argument("cmd", nargs=argparse.REMAINDER, help="the command and its arguments")
    run.set_defaults(func=execute)
    ping = actions.add_parser("ping-all", parents=[common, host],
                              help="ping every address of the probes' networks (root)")
    ping.add_argument("probe", nargs="?", help="only from this probe")
    ping.add_argument("--include-all", action="store_true",
                      help="also ping other probes")
    ping.add_argument("--timeout", type=int, default=1, help="seconds per ping")
    ping.set_defaults(func=ping_all)
