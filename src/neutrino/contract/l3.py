"""``get_desired_state(kind="l3")``: the routers scheduled to a host's L3 agent
(docs/rpc.md)."""

from __future__ import annotations

from typing import NotRequired, TypedDict

from neutrino.contract.common import Route
from neutrino.contract.qos import BandwidthLimitRule


class RouterFixedIp(TypedDict):
    subnet_id: str
    ip_address: str
    cidr: str
    prefixlen: int
    ip_version: int
    # On an interface the router's own address; on the gateway, the external
    # subnet's gateway (the router's default route).
    gateway_ip: str | None
    # The subnet's IPv6 modes and name servers (what the router advertises on an
    # interface, agent/l3/ra.py). Absent from an older server: read with .get().
    ipv6_ra_mode: NotRequired[str | None]
    ipv6_address_mode: NotRequired[str | None]
    dns_nameservers: NotRequired[list[str]]


class RouterPort(TypedDict):
    """An interface (device names.router_interface) or the gateway
    (names.router_gateway)."""

    port_id: str
    network_id: str
    mac_address: str
    mtu: int | None
    revision_number: int
    device: str
    fixed_ips: list[RouterFixedIp]


class PortForwarding(TypedDict):
    """One port forwarding of a floating IP (floating-ip-port-forwarding): its
    (protocol, external ports) to (internal address, internal ports); a single
    port is a range of one, an internal range of one takes every external port."""

    id: str
    protocol: str
    external_port_start: int
    external_port_end: int
    internal_ip_address: str
    internal_port_start: int
    internal_port_end: int


class FloatingIp(TypedDict):
    id: str
    floating_ip_address: str
    fixed_ip_address: str | None
    port_id: str | None
    status: str
    revision_number: int
    # A floating IP without a port may forward ports instead (absent from an older
    # server: read with .get()).
    port_forwardings: NotRequired[list[PortForwarding]]
    # qos-fip: the bandwidth limits of its QoS policy (egress: what leaves through
    # the floating IP; ingress: what comes to it). Absent from an older server.
    qos_rules: NotRequired[list[BandwidthLimitRule]]


class FirewallRule(TypedDict):
    """An enabled rule of a firewall policy (FWaaS v2), in the policy's order."""

    id: str
    protocol: str | None          # tcp, udp, icmp, ipv6-icmp; None: any
    ip_version: int
    source_ip_address: str | None  # address or CIDR
    destination_ip_address: str | None
    source_port: str | None       # "80" or "1000:2000"
    destination_port: str | None
    action: str                   # allow, deny, reject


class FirewallGroup(TypedDict):
    """A firewall group on some of this router's interfaces (FWaaS v2): ingress
    filters what the router sends out of those ports, egress what enters the router
    from them; None: no such policy. `status` is the server's, which the agent
    reports over (set_firewall_group_status)."""

    id: str
    status: str
    admin_state_up: bool
    ports: list[str]              # ids of this router's interfaces in the group
    ingress_rules: list[FirewallRule] | None
    egress_rules: list[FirewallRule] | None


class IkePolicy(TypedDict):
    """VPNaaS: phase 1 of a site connection, as the API's ikepolicy says."""

    ike_version: str              # v1, v2
    auth_algorithm: str           # sha1, sha256, sha384, sha512, aes-*-xcbc, ...
    encryption_algorithm: str     # aes-128, aes-256, 3des, aes-*-ccm/gcm-*, ...
    pfs: str                      # group2, group5, group14, ... (DH group)
    lifetime_seconds: int
    phase1_negotiation_mode: str  # main, aggressive


class IpsecPolicy(TypedDict):
    """VPNaaS: phase 2 (the child SA) of a site connection."""

    transform_protocol: str       # esp, ah, ah-esp
    encapsulation_mode: str       # tunnel, transport
    auth_algorithm: str
    encryption_algorithm: str
    pfs: str
    lifetime_seconds: int


class IpsecSiteConnection(TypedDict):
    """VPNaaS: one IPsec tunnel of a VPN service to a peer site. `local_cidrs` are
    the subnets of the service's router it protects (from its local endpoint group,
    or the service's subnet); `local_id` empty means the gateway address."""

    id: str
    status: str
    admin_state_up: bool
    peer_address: str
    peer_id: str
    local_id: str
    local_cidrs: list[str]
    peer_cidrs: list[str]
    psk: str
    mtu: int
    initiator: str                # bi-directional, response-only
    dpd_action: str               # hold, clear, restart, disabled, restart-by-peer
    dpd_interval: int
    dpd_timeout: int
    ikepolicy: IkePolicy
    ipsecpolicy: IpsecPolicy


class VpnService(TypedDict):
    """VPNaaS: a VPN service on this router and its site connections. The local
    endpoint is the router's gateway address of the peer's IP version
    (`external_v4_ip` / `external_v6_ip`, None: that version has none)."""

    id: str
    status: str
    admin_state_up: bool
    external_v4_ip: str | None
    external_v6_ip: str | None
    connections: list[IpsecSiteConnection]


class Router(TypedDict):
    id: str
    revision_number: int
    admin_state_up: bool
    enable_snat: bool
    gateway: RouterPort | None     # None: no external gateway
    interfaces: list[RouterPort]
    routes: list[Route]
    floating_ips: list[FloatingIp]
    # qos-gateway-ip: the bandwidth limits of the gateway's QoS policy, on the
    # gateway's own (SNAT) address. Absent from an older server.
    gateway_qos_rules: NotRequired[list[BandwidthLimitRule]]
    # l3-ha (absent from an older server: read with .get()): a HA router runs
    # keepalived with VRRP id `ha_vr_id` over this host's port on the project's HA
    # network (`ha_interface`, device names.router_ha_interface; None: not made
    # yet, the router waits).
    ha: NotRequired[bool]
    ha_vr_id: NotRequired[int | None]
    ha_interface: NotRequired[RouterPort | None]
    # FWaaS v2 (issue 16): the firewall groups of its interfaces; absent from an
    # older server or without the firewall_v2 service plugin (nothing to enforce).
    firewall_groups: NotRequired[list[FirewallGroup]]
    # VPNaaS (issue 16): the VPN services on this router; absent from an older
    # server or without the vpnaas service plugin (nothing to run).
    vpn_services: NotRequired[list[VpnService]]


class L3State(TypedDict):
    host: str
    agent_id: NotRequired[str]     # absent when the host has no L3 agent
    routers: list[Router]


# FWaaS v2 (issue 16): the L3 agents report the firewall groups they applied on
# upstream's topic, ``set_firewall_group_status(fwg_id, status, expected)``.
FIREWALL_PLUGIN = "q-firewall-plugin"


# VPNaaS (issue 16): the L3 agents report their VPN services on upstream's topic,
# ``update_status(status=[VpnServiceStatus, ...])`` (a cast).
VPN_PLUGIN = "ipsec_driver"


class ConnectionStatus(TypedDict):
    status: str                   # ACTIVE, DOWN, ERROR
    updated_pending_status: bool  # the connection was PENDING_* on the server


class VpnServiceStatus(TypedDict):
    id: str
    status: str                   # ACTIVE, DOWN, ERROR
    updated_pending_status: bool
    ipsec_site_connections: dict[str, ConnectionStatus]
