"""What dnsmasq is told about one network: pure functions of a network of the
"dhcp" desired state (docs/rpc.md) and the agent's settings.

* the command line (`command`): one ``--dhcp-range`` per subnet served, in
  ``static`` mode: dnsmasq answers only the MACs of the hosts file, with exactly
  the address the port has;
* the hosts file (``--dhcp-hostsfile``): ``mac,fqdn,ip[,set:port-<id>]``, one line
  per MAC and address on a subnet served;
* the extra hosts file (``--addn-hosts``): ``ip<TAB>fqdn hostname`` for DNS;
* the options file (``--dhcp-optsfile``): per subnet (tag ``subnet-<id>``) the DNS
  servers, classless static routes (options 121 and 249), router and MTU; per port
  with extra DHCP options (tag ``port-<id>``) those options.

The files change whenever ports or options do, and dnsmasq re-reads them on SIGHUP;
the command line changes only when the set of subnets served (or a setting) does,
which needs a restart. The formats are upstream's, so what a guest sees is the same.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from neutrino.agent.dhcp import metadata
from neutrino.contract import names
from neutrino.contract.dhcp import DhcpNetwork, DhcpPort, DhcpSubnet, ExtraDhcpOpt

DHCP_OWNER = "network:dhcp"
IPV4_ANY = "0.0.0.0/0"
STATEFUL = "dhcpv6-stateful"
STATELESS = "dhcpv6-stateless"
WIN2K3_STATIC_ROUTES = "249"  # the classless static routes option older Windows asks for
SUBNET_TAG = "subnet-{}"
PORT_TAG = "port-{}"
# Extra DHCP options that are not DHCP options for dnsmasq's options file.
NOT_OPTIONS = frozenset({"client-id"})


@dataclass(frozen=True)
class Settings:
    """The agent options that shape dnsmasq's configuration."""

    dns_domain: str = "openstacklocal"
    dns_servers: tuple[str, ...] = ()   # dnsmasq_dns_servers: DNS forwarders
    lease_duration: int = 86400          # dhcp_lease_duration; -1: infinite
    lease_max: int = 2 ** 24             # dnsmasq_lease_max
    # Metadata (metadata.py): the route to 169.254.169.254 and the proxy.
    enable_isolated_metadata: bool = False
    force_metadata: bool = False
    enable_metadata_network: bool = False


@dataclass(frozen=True)
class Paths:
    """A network's files under the agent's state directory (upstream's names)."""

    directory: str

    def _file(self, name: str) -> str:
        return f"{self.directory}/{name}"

    @property
    def pid(self) -> str:
        return self._file("pid")

    @property
    def hosts(self) -> str:
        return self._file("host")

    @property
    def addn_hosts(self) -> str:
        return self._file("addn_hosts")

    @property
    def opts(self) -> str:
        return self._file("opts")

    @property
    def leases(self) -> str:
        return self._file("leases")


namespace_name = names.dhcp_namespace
# The DHCP port's end inside the namespace.
interface_name = names.dhcp_interface
# The DHCP port's end on the host, which the L2 agent puts in the bridge.
tap_name = names.tap_device


# -- subnets -----------------------------------------------------------------------


def is_served(subnet: DhcpSubnet) -> bool:
    """Whether dnsmasq serves the subnet: DHCP on and, for IPv6, an address mode
    that wants DHCPv6 (stateful or stateless; none at all counts as stateful, as
    upstream) and a prefix dnsmasq can range over (/64 or longer). SLAAC subnets
    get their addresses and options from the router's advertisements."""
    if not subnet["enable_dhcp"]:
        return False
    if subnet["ip_version"] == 4:
        return True
    mode = subnet["ipv6_address_mode"]
    if mode not in (STATEFUL, STATELESS) and (mode or subnet["ipv6_ra_mode"]):
        return False
    return ipaddress.ip_network(subnet["cidr"]).prefixlen >= 64


def assigns_addresses(subnet: DhcpSubnet) -> bool:
    """Served subnets where dnsmasq hands out the ports' addresses (not stateless
    DHCPv6, where guests make their own address and ask only for options)."""
    return is_served(subnet) and (
        subnet["ip_version"] == 4 or subnet["ipv6_address_mode"] != STATELESS)


def served_subnets(network: DhcpNetwork) -> list[DhcpSubnet]:
    return [s for s in network["subnets"] if is_served(s)]


def _lease(settings: Settings) -> str:
    return "infinite" if settings.lease_duration == -1 else f"{settings.lease_duration}s"


def dhcp_range(subnet: DhcpSubnet, settings: Settings) -> str:
    """``set:subnet-<id>,<network>,static,<netmask or prefixlen>,<lease>``."""
    net = ipaddress.ip_network(subnet["cidr"])
    mask = str(net.netmask) if net.version == 4 else str(net.prefixlen)
    return (f"set:{SUBNET_TAG.format(subnet['id'])},{net.network_address},static,"
            f"{mask},{_lease(settings)}")


# -- ports ---------------------------------------------------------------------------


def ports_of(network: DhcpNetwork) -> list[DhcpPort]:
    """The network's ports, with the agent's own port even before the desired state
    lists it (it was made by get_dhcp_port after the state was read)."""
    ports = {p["id"]: p for p in network["ports"]}
    own = network["dhcp_port"]
    if own and own["id"] not in ports:
        ports[own["id"]] = own
    return [ports[i] for i in sorted(ports)]


def _ip_version(address: str) -> int:
    return ipaddress.ip_address(address).version


def _literal(address: str) -> str:
    """An address as dnsmasq writes it in lists: IPv6 in brackets."""
    return f"[{address}]" if _ip_version(address) == 6 else address


def host_names(port: DhcpPort, address: str, settings: Settings) -> tuple[str, str]:
    """(hostname, fqdn) of a port's address: its dns_assignment when the server
    gives one, else ``host-<address with dashes>`` in the agent's domain."""
    # .get(): a server older than the DNS attributes in the DHCP state omits them.
    for assignment in port.get("dns_assignment") or []:
        if assignment["ip_address"] == address and assignment["hostname"]:
            hostname = assignment["hostname"]
            fqdn = (assignment["fqdn"] or hostname).rstrip(".")
            return hostname, fqdn
    hostname = "host-" + address.replace(".", "-").replace(":", "-")
    fqdn = f"{hostname}.{settings.dns_domain}" if settings.dns_domain else hostname
    return hostname, fqdn


def port_options(port: DhcpPort) -> list[ExtraDhcpOpt]:
    """The port's extra DHCP options that apply: those of an IP version the port
    has an address of (upstream skips the others too)."""
    versions = {_ip_version(ip["ip_address"]) for ip in port["fixed_ips"]}
    return [o for o in port["extra_dhcp_opts"]
            if o["ip_version"] in versions and o["opt_name"] not in NOT_OPTIONS]


def hosts_file(network: DhcpNetwork, settings: Settings) -> str:
    subnets = {s["id"]: s for s in served_subnets(network)}
    lines = []
    for port in ports_of(network):
        tag = f",set:{PORT_TAG.format(port['id'])}" if port_options(port) else ""
        mac = port["mac_address"]
        stateless_only = False
        for ip in port["fixed_ips"]:
            subnet = subnets.get(ip["subnet_id"])
            if subnet is None:
                continue
            if not assigns_addresses(subnet):
                stateless_only = True
                continue
            _, fqdn = host_names(port, ip["ip_address"], settings)
            lines.append(f"{mac},{fqdn},{_literal(ip['ip_address'])}{tag}")
        if stateless_only and tag and not any(line.startswith(mac + ",") for line in lines):
            # Stateless DHCPv6: no address to give, but the port's options apply.
            lines.append(f"{mac}{tag}")
    return "".join(line + "\n" for line in lines)


def addn_hosts_file(network: DhcpNetwork, settings: Settings) -> str:
    """Names dnsmasq answers DNS queries for (the guests' names)."""
    subnets = {s["id"] for s in served_subnets(network)}
    lines = []
    for port in ports_of(network):
        for ip in port["fixed_ips"]:
            if ip["subnet_id"] in subnets:
                hostname, fqdn = host_names(port, ip["ip_address"], settings)
                lines.append(f"{ip['ip_address']}\t{fqdn} {hostname}")
    return "".join(line + "\n" for line in lines)


# -- options ---------------------------------------------------------------------------


def _option(ip_version: int, tag: str, option: str, *values: str) -> str:
    """``tag:<tag>,option:<name>[,values]`` (``option6:`` for IPv6); numeric
    options are written as their number."""
    if not option.isdigit():
        option = ("option:" if ip_version == 4 else "option6:") + option
    return ",".join((f"tag:{tag}", option, *values))


def _dns_servers(subnet: DhcpSubnet, ports: list[DhcpPort]) -> list[str] | None:
    """The subnet's DNS servers; None: announce none (the subnet names the
    unspecified address, upstream's way of saying so). Without any, the DHCP ports'
    addresses on the subnet: dnsmasq itself answers for the guests' names and
    forwards the rest to dnsmasq_dns_servers."""
    servers = subnet["dns_nameservers"]
    if servers in (["0.0.0.0"], ["::"]):
        return None
    if servers:
        return [_literal(s) for s in servers]
    return [_literal(ip["ip_address"]) for port in ports
            if port["device_owner"] == DHCP_OWNER
            for ip in port["fixed_ips"] if ip["subnet_id"] == subnet["id"]]


def subnet_options(network: DhcpNetwork, subnet: DhcpSubnet, settings: Settings
                   ) -> list[str]:
    version = subnet["ip_version"]
    tag = SUBNET_TAG.format(subnet["id"])
    out = []
    servers = _dns_servers(subnet, ports_of(network))
    if servers is None:
        out.append(_option(version, tag, "dns-server"))
    elif servers:
        out.append(_option(version, tag, "dns-server", ",".join(servers)))
    if version == 6:
        # IPv6 has no router option (routers advertise themselves) and takes the
        # domain as a search list.
        if settings.dns_domain:
            out.append(_option(version, tag, "domain-search", settings.dns_domain))
        return out
    gateway = subnet["gateway_ip"]
    routes = []
    for route in subnet["host_routes"]:
        if route["destination"] == IPV4_ANY:
            gateway = gateway or route["nexthop"]
        else:
            routes.append(f"{route['destination']},{route['nexthop']}")
    # The network's other IPv4 subnets are on the same link: reachable directly.
    routes += [f"{other['cidr']},0.0.0.0" for other in network["subnets"]
               if other["ip_version"] == 4 and other["cidr"] != subnet["cidr"]]
    metadata_route = metadata.route(network, subnet, settings)
    if metadata_route:
        routes.append(metadata_route)
    if routes:
        # A client that gets classless routes ignores the router option (RFC 3442),
        # so the default route goes with them.
        if gateway:
            routes.append(f"{IPV4_ANY},{gateway}")
        out.append(_option(version, tag, "classless-static-route", ",".join(routes)))
        out.append(_option(version, tag, WIN2K3_STATIC_ROUTES, ",".join(routes)))
    out.append(_option(version, tag, "router", *([gateway] if gateway else [])))
    if network["mtu"]:
        out.append(_option(version, tag, "mtu", str(network["mtu"])))
    return out


def opts_file(network: DhcpNetwork, settings: Settings) -> str:
    lines = []
    for subnet in served_subnets(network):
        lines += subnet_options(network, subnet, settings)
    for port in ports_of(network):
        tag = PORT_TAG.format(port["id"])
        for opt in port_options(port):
            lines.append(_option(opt["ip_version"], tag, opt["opt_name"],
                                 opt["opt_value"]))
    return "".join(line + "\n" for line in lines)


# -- the process ------------------------------------------------------------------------


def command(network: DhcpNetwork, port_id: str, paths: Paths, settings: Settings
            ) -> list[str]:
    """dnsmasq's command line for the network (its argv, compared with the running
    process's to decide on a restart)."""
    cmd = ["dnsmasq", "--no-hosts", "--no-resolv",
           f"--pid-file={paths.pid}",
           f"--dhcp-hostsfile={paths.hosts}",
           f"--addn-hosts={paths.addn_hosts}",
           f"--dhcp-optsfile={paths.opts}",
           f"--dhcp-leasefile={paths.leases}",
           # Bound to the DHCP port's interface only; --bind-dynamic copes with
           # addresses that arrive later (IPv6 duplicate address detection).
           "--bind-dynamic",
           f"--interface={interface_name(port_id)}",
           "--except-interface=lo"]
    possible = 0
    for subnet in served_subnets(network):
        cmd.append(f"--dhcp-range={dhcp_range(subnet, settings)}")
        possible += ipaddress.ip_network(subnet["cidr"]).num_addresses
    cmd.append(f"--dhcp-lease-max={min(possible, settings.lease_max)}")
    cmd.append("--conf-file=/dev/null")
    cmd += [f"--server={server}" for server in settings.dns_servers]
    if settings.dns_domain:
        cmd.append(f"--domain={settings.dns_domain}")
    return cmd


def interface_addresses(network: DhcpNetwork, port: DhcpPort) -> set[str]:
    """The DHCP port's addresses as "ip/prefixlen" on its interface: those on the
    network's subnets (the port's other addresses have no prefix to go with)."""
    cidrs = {s["id"]: s["cidr"] for s in network["subnets"]}
    out = set()
    for ip in port["fixed_ips"]:
        cidr = cidrs.get(ip["subnet_id"])
        if cidr:
            out.add(f"{ip['ip_address']}/{ipaddress.ip_network(cidr).prefixlen}")
    return out


def needs_port(network: DhcpNetwork) -> bool:
    """Whether the network is to be served at all: admin up with a subnet served."""
    return bool(network["admin_state_up"] and served_subnets(network))


def port_complete(network: DhcpNetwork, port: DhcpPort | None) -> bool:
    """Whether the DHCP port has an address on every subnet served (else the
    server is asked again: get_dhcp_port adds the missing ones)."""
    if not port:
        return False
    have = {ip["subnet_id"] for ip in port["fixed_ips"]}
    return all(s["id"] in have for s in served_subnets(network))
