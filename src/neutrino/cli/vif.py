"""``neutrino-vif plug|unplug PORT_ID``: what a hypervisor does for a port, without one.

plug: reads the port (and its network and subnets) from the API, binds it to this
host (``binding:host_id``, and ``device_owner`` compute:nova when it has none), and
creates the "VM": a namespace ``vm-<port[:11]>`` (or ``--netns``) whose eth0 carries
the port's MAC, the other end ``tap<port[:11]>`` in this host's namespace (or
``--host-netns``, to play several hosts on one machine), with the port's fixed IPs
and the subnet's gateway as default route (``--ip-config static``; ``none`` leaves
addressing to the guest). The host's L2 agent then plugs the tap into the bridge.

unplug: removes the namespace and the tap (``--unbind`` also clears binding:host_id).

The API: ``--url`` (default $NEUTRINO_URL, else http://127.0.0.1:9696) with noauth
headers, or Keystone when $OS_AUTH_URL is set (OS_USERNAME, OS_PASSWORD,
OS_PROJECT_NAME, OS_USER_DOMAIN_NAME, OS_PROJECT_DOMAIN_NAME; the network endpoint
from the catalog unless --url), or a token in $OS_TOKEN.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import socket
import sys
import urllib.error
import urllib.request
from typing import Any

from neutrino.agent import vif as vif_mod
from neutrino.agent.common import privileged

DEFAULT_URL = "http://127.0.0.1:9696"


class ApiError(RuntimeError):
    pass


class Client:
    """A small JSON client for /v2.0 (stdlib only: the CLI runs on bare hosts)."""

    def __init__(self, url: str, token: str | None = None, project: str | None = None
                 ) -> None:
        self.url = url.rstrip("/")
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token:
            self.headers["X-Auth-Token"] = token
        if project:  # noauth: who the caller is
            self.headers["X-Project-Id"] = project
            self.headers["X-Roles"] = "admin"

    def request(self, method: str, path: str, body: Any = None) -> Any:
        base = self.url if self.url.endswith("/v2.0") else self.url + "/v2.0"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(base + path, data=data, method=method,
                                     headers=self.headers)
        try:
            with urllib.request.urlopen(req, timeout=60) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            try:
                detail = json.loads(detail)["NeutronError"]["message"]
            except (ValueError, KeyError, TypeError):
                pass
            raise ApiError(f"{method} {path}: {error.code} {detail}") from None
        except urllib.error.URLError as error:
            raise ApiError(f"{method} {path}: {error.reason} ({self.url})") from None
        return json.loads(raw) if raw else None


def keystone_session(env: dict[str, str]) -> tuple[str, str]:
    """A token and the network endpoint from Keystone v3 (password)."""
    auth_url = env["OS_AUTH_URL"].rstrip("/")
    if not auth_url.endswith("/v3"):
        auth_url += "/v3"
    body = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": env.get("OS_USERNAME", ""), "password": env.get("OS_PASSWORD", ""),
            "domain": {"name": env.get("OS_USER_DOMAIN_NAME", "Default")}}}},
        "scope": {"project": {"name": env.get("OS_PROJECT_NAME", ""), "domain": {
            "name": env.get("OS_PROJECT_DOMAIN_NAME", "Default")}}}}}
    req = urllib.request.Request(auth_url + "/auth/tokens", data=json.dumps(body).encode(),
                                 method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            token = response.headers["X-Subject-Token"]
            catalog = json.loads(response.read())["token"].get("catalog", [])
    except urllib.error.URLError as error:
        raise ApiError(f"Keystone at {auth_url}: {error}") from None
    interface = env.get("OS_INTERFACE", "public")
    for service in catalog:
        if service.get("type") == "network":
            for endpoint in service.get("endpoints", []):
                if endpoint.get("interface") == interface:
                    return token, endpoint["url"]
    raise ApiError("no network endpoint in the Keystone catalog")


def make_client(args: argparse.Namespace, env: dict[str, str]) -> Client:
    url = args.url or env.get("NEUTRINO_URL")
    if env.get("OS_AUTH_URL"):
        token, endpoint = keystone_session(env)
        return Client(url or endpoint, token=token)
    return Client(url or DEFAULT_URL, token=env.get("OS_TOKEN"), project=args.project)


def addressing(client: Client, port: dict) -> tuple[list[str], str | None]:
    """The port's fixed IPs with their subnets' prefix lengths, and a gateway."""
    addresses: list[str] = []
    gateway = None
    for fixed in port.get("fixed_ips") or []:
        subnet = client.request("GET", f"/subnets/{fixed['subnet_id']}")["subnet"]
        prefixlen = ipaddress.ip_network(subnet["cidr"]).prefixlen
        addresses.append(f"{fixed['ip_address']}/{prefixlen}")
        if gateway is None and subnet.get("gateway_ip") and subnet["ip_version"] == 4:
            gateway = subnet["gateway_ip"]
    return addresses, gateway


def plug(args: argparse.Namespace, client: Client) -> str:
    port = client.request("GET", f"/ports/{args.port_id}")["port"]
    if not args.no_bind:
        update: dict[str, Any] = {"binding:host_id": args.host}
        if not port.get("device_owner"):
            update["device_owner"] = args.device_owner
        port = client.request("PUT", f"/ports/{port['id']}", {"port": update})["port"]
    network = client.request("GET", f"/networks/{port['network_id']}")["network"]
    addresses, gateway = (addressing(client, port) if args.ip_config == "static"
                          else ([], None))
    vif = vif_mod.Vif(port_id=port["id"], mac=port["mac_address"], namespace=args.netns,
                      host_namespace=args.host_netns, addresses=addresses,
                      gateway=gateway, mtu=network.get("mtu"), ovs=ovs_target(args))
    vif_mod.plug(vif)
    return (f"port {port['id']} plugged: namespace {vif.namespace}, tap {vif.tap}"
            f"{' in ' + args.host_netns if args.host_netns else ''}, "
            f"mac {port['mac_address']}, addresses {', '.join(addresses) or 'none'}, "
            f"binding:host_id {port.get('binding:host_id')}, "
            f"status {port.get('status')}")


def unplug(args: argparse.Namespace, client: Client | None) -> str:
    vif_mod.unplug(args.port_id, args.netns, args.host_netns, ovs_target(args))
    if args.unbind and client is not None:
        client.request("PUT", f"/ports/{args.port_id}", {"port": {"binding:host_id": ""}})
    return f"port {args.port_id} unplugged"


def ovs_target(args: argparse.Namespace) -> vif_mod.OvsPlug | None:
    """--mode ovs: where the tap goes (the Open vSwitch agent's br-int)."""
    if args.mode != "ovs":
        return None
    return vif_mod.OvsPlug(ovsdb=args.ovsdb, bridge=args.ovs_bridge)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="neutrino-vif",
        description="Plug a port's \"VM\" (a network namespace whose eth0 carries the "
                    "port's MAC, its tap<port[:11]> on this host) as a hypervisor "
                    "would, binding the port to this host; or unplug it.")
    sub = top.add_subparsers(dest="command", required=True)
    for name in ("plug", "unplug"):
        cmd = sub.add_parser(name)
        cmd.add_argument("port_id")
        cmd.add_argument("--netns", default="",
                         help="the VM's namespace (default vm-<port[:11]>)")
        cmd.add_argument("--host-netns", default=None,
                         help="the host's namespace, where the tap goes (default: "
                              "this one)")
        cmd.add_argument("--url", default=None, help="the API's URL")
        cmd.add_argument("--project", default=None,
                         help="noauth: act as this project (X-Project-Id, admin role)")
        cmd.add_argument("--mode", choices=["tap", "ovs"], default="tap",
                         help="tap: a plain tap (the Linux bridge agent plugs it); ovs: "
                              "the tap also added to an Open vSwitch bridge with "
                              "external_ids iface-id etc., as Nova/os-vif do")
        cmd.add_argument("--ovsdb", default="unix:/var/run/openvswitch/db.sock",
                         help="--mode ovs: the ovsdb-server")
        cmd.add_argument("--ovs-bridge", default="br-int",
                         help="--mode ovs: the integration bridge")
    plug_cmd = sub.choices["plug"]
    plug_cmd.add_argument("--host", default=socket.gethostname(),
                          help="binding:host_id to set (default: this machine's name)")
    plug_cmd.add_argument("--no-bind", action="store_true",
                          help="leave binding:host_id as it is")
    plug_cmd.add_argument("--device-owner", default="compute:nova",
                          help="device_owner set when the port has none")
    plug_cmd.add_argument("--ip-config", choices=["static", "none"], default="static",
                          help="static: the port's fixed IPs and gateway in the VM")
    sub.choices["unplug"].add_argument("--unbind", action="store_true",
                                       help="also clear binding:host_id")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not privileged.is_root():
        print("neutrino-vif: must run as root (namespaces, links)", file=sys.stderr)
        return 1
    if args.netns == "":
        args.netns = vif_mod.vm_namespace(args.port_id)
    try:
        if args.command == "plug":
            print(plug(args, make_client(args, dict(os.environ))))
        else:
            client = make_client(args, dict(os.environ)) if args.unbind else None
            print(unplug(args, client))
    except ApiError as error:
        print(f"neutrino-vif: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
