"""[ml2] and [ml2_type_*] options, and parsing of their ranges (pure functions)."""

from __future__ import annotations

from oslo_config import cfg

ml2_opts = [
    cfg.ListOpt("type_drivers", default=["local", "flat", "vlan", "vxlan", "gre", "geneve"],
                help="Network types that may be used (provider or tenant networks)."),
    cfg.ListOpt("tenant_network_types", default=["vxlan"],
                help="Network types of project networks, in order of preference."),
    cfg.ListOpt("mechanism_drivers", default=["linuxbridge"],
                help="Mechanism drivers that bind ports."),
    cfg.ListOpt("extension_drivers", default=[],
                help="ML2 extension drivers."),
    cfg.IntOpt("path_mtu", default=0, min=0,
               help="MTU of the underlay carrying tunnels (vxlan, gre, geneve); 0: use "
                    "global_physnet_mtu. Tunnel networks get it minus the overhead."),
]
flat_opts = [
    cfg.ListOpt("flat_networks", default=["*"],
                help="Physical networks flat networks may use; '*' for any, empty to "
                     "disable flat networks."),
]
vlan_opts = [
    cfg.ListOpt("network_vlan_ranges", default=[],
                help="<physical_network>[:<vlan_min>:<vlan_max>] entries: physical "
                     "networks VLAN provider networks may use, and the VLANs project "
                     "networks are allocated from."),
]
vxlan_opts = [
    cfg.ListOpt("vni_ranges", default=["1:1000"],
                help="<vni_min>:<vni_max> ranges of VXLAN VNIs for project networks."),
]
gre_opts = [
    cfg.ListOpt("tunnel_id_ranges", default=[],
                help="<tun_min>:<tun_max> ranges of GRE tunnel ids for project networks."),
]
geneve_opts = [
    cfg.ListOpt("vni_ranges", default=[],
                help="<vni_min>:<vni_max> ranges of Geneve VNIs for project networks."),
    cfg.IntOpt("max_header_size", default=30, min=30,
               help="Geneve encapsulation header size (the IPv4 underlay header is "
                    "added to it for the overhead)."),
]

GROUPS = [("ml2", ml2_opts), ("ml2_type_flat", flat_opts), ("ml2_type_vlan", vlan_opts),
          ("ml2_type_vxlan", vxlan_opts), ("ml2_type_gre", gre_opts),
          ("ml2_type_geneve", geneve_opts)]

# Valid segmentation ids per type (inclusive).
VLAN_MIN, VLAN_MAX = 1, 4094
TUNNEL_LIMITS = {"vxlan": (1, 2**24 - 1), "geneve": (1, 2**24 - 1), "gre": (1, 2**32 - 1)}


class RangeError(ValueError):
    """A configured range is malformed (the message says which and why)."""


def _int(text: str, entry: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise RangeError(f"Invalid range '{entry}': '{text}' is not an integer") from None


def parse_tunnel_ranges(entries: list[str], network_type: str) -> list[tuple[int, int]]:
    """['1:1000', '2000:2010'] -> [(1, 1000), (2000, 2010)], each checked against the
    type's valid identifiers."""
    low, high = TUNNEL_LIMITS[network_type]
    out = []
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        parts = entry.split(":")
        if len(parts) != 2:
            raise RangeError(f"Invalid network tunnel range: '{entry}' - "
                             "expected <min>:<max>")
        first, last = _int(parts[0], entry), _int(parts[1], entry)
        for value in (first, last):
            if not low <= value <= high:
                raise RangeError(f"Invalid network tunnel range: '{entry}' - {value} is "
                                 f"not a valid {network_type} identifier")
        if last < first:
            raise RangeError(f"Invalid network tunnel range: '{entry}' - End of tunnel "
                             "range is less than start of tunnel range")
        out.append((first, last))
    return out


def parse_vlan_ranges(entries: list[str]) -> dict[str, list[tuple[int, int]]]:
    """['physnet1:100:110', 'physnet2'] -> {'physnet1': [(100, 110)], 'physnet2': []}:
    every physical network named, with the VLANs of its project networks."""
    out: dict[str, list[tuple[int, int]]] = {}
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        parts = entry.split(":")
        if len(parts) == 1 or (len(parts) == 3 and parts[0]):
            ranges = out.setdefault(parts[0].strip(), [])
            if len(parts) == 3:
                first, last = _int(parts[1], entry), _int(parts[2], entry)
                for value in (first, last):
                    if not VLAN_MIN <= value <= VLAN_MAX:
                        raise RangeError(f"Invalid network VLAN range: '{entry}' - "
                                         f"{value} is not a valid VLAN tag")
                if last < first:
                    raise RangeError(f"Invalid network VLAN range: '{entry}' - End of "
                                     "VLAN range is less than start of VLAN range")
                ranges.append((first, last))
            continue
        raise RangeError(f"Invalid network VLAN range: '{entry}' - expected "
                         "<physical_network>[:<vlan_min>:<vlan_max>]")
    return out


def ids_in(ranges: list[tuple[int, int]]) -> set[int]:
    return {i for first, last in ranges for i in range(first, last + 1)}
