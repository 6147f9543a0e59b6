"""Device and namespace names, shared by the server and the agents.

A Linux interface name holds at most 15 characters (IFNAMSIZ - 1), so a device
named after a port or network keeps the first 11 characters of its id behind a
prefix of up to 4 (upstream Neutron's names, which operators and tools know).
The server reads a device name back to its port (`port_id_prefix`): an agent
reports devices, not ports.
"""

from __future__ import annotations

ID_LEN = 11  # characters of an id kept in a device name

TAP_PREFIX = "tap"            # a port's device on the host (hypervisor's tap, veth end)
BRIDGE_PREFIX = "brq"         # a network's Linux bridge
VXLAN_PREFIX = "vxlan-"       # a VXLAN network's device: vxlan-<vni>
DHCP_NAMESPACE_PREFIX = "qdhcp-"      # a network's DHCP namespace (whole network id)
DHCP_INTERFACE_PREFIX = "ns-"         # the DHCP port's end inside that namespace
ROUTER_NAMESPACE_PREFIX = "qrouter-"  # a router's namespace (whole router id)
ROUTER_INTERFACE_PREFIX = "qr-"       # a router's interface on an internal network
ROUTER_GATEWAY_PREFIX = "qg-"         # a router's port on its external network
ROUTER_HA_PREFIX = "ha-"              # a HA router's port on its HA network (VRRP)

# Devices that stand for a port (what agents report in update_device_up/down).
PORT_DEVICE_PREFIXES = (TAP_PREFIX, DHCP_INTERFACE_PREFIX, ROUTER_INTERFACE_PREFIX,
                        ROUTER_GATEWAY_PREFIX, ROUTER_HA_PREFIX)


def tap_device(port_id: str) -> str:
    return TAP_PREFIX + port_id[:ID_LEN]


def bridge(network_id: str) -> str:
    return BRIDGE_PREFIX + network_id[:ID_LEN]


def vxlan_device(vni: int) -> str:
    return f"{VXLAN_PREFIX}{vni}"


def dhcp_namespace(network_id: str) -> str:
    return DHCP_NAMESPACE_PREFIX + network_id


def dhcp_interface(port_id: str) -> str:
    return DHCP_INTERFACE_PREFIX + port_id[:ID_LEN]


def router_namespace(router_id: str) -> str:
    return ROUTER_NAMESPACE_PREFIX + router_id


def router_interface(port_id: str) -> str:
    return ROUTER_INTERFACE_PREFIX + port_id[:ID_LEN]


def router_gateway(port_id: str) -> str:
    return ROUTER_GATEWAY_PREFIX + port_id[:ID_LEN]


def router_ha_interface(port_id: str) -> str:
    return ROUTER_HA_PREFIX + port_id[:ID_LEN]


_HEX = frozenset("0123456789abcdef-")


def port_id_prefix(device: str) -> str | None:
    """The port id (or its first characters) a device stands for: ``tap<id[:11]>``,
    ``ns-…``, ``qr-…``, ``qg-…`` or a whole port id; None when it cannot be one."""
    value = device
    for prefix in PORT_DEVICE_PREFIXES:
        if value.startswith(prefix):
            value = value[len(prefix):]
            break
    value = value.lower()
    if len(value) < 8 or not set(value) <= _HEX:
        return None
    return value
