"""What QoS the taps of this host want, and the steps from what the kernel has.

Pure functions (no kernel), unit-tested in tests/unit/agent/test_qos_plan.py.

Directions are the VM's, as upstream's: a VM's *egress* is what enters the bridge
from its tap, i.e. the tap's ingress; its *ingress* is what the tap sends to it.

::

    VM ──▶ tap ingress (ffff:) ──u32 match-all, mirred redirect──▶ ifb<port[:11]>
                                                                    root tbf = egress limit
    VM ◀── tap root qdisc 1: tbf = ingress limit ◀── bridge

    nftables: table bridge neutrino_qos, chain prerouting: for each marking tap,
    `iifname "tap…" ether type ip  ip  dscp set N` (and ip6): the VM's packets carry
    the mark from the bridge on.

`layout(desired)` turns the "l2" desired state's per-port ``qos_rules`` into
`PortQos` values; `plan_tc(want, have)` returns the `TcAction`s that turn the
observed `TcState` of each tap into that; `render_nft(want)` renders the whole
nftables table (applied atomically, replacing the previous one). Only ``ifb*``
devices and qdiscs on taps of this agent are ever touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from neutrino.contract import names
from neutrino.contract.l2 import L2State

IFB_PREFIX = "ifb"
TAP_PREFIX = names.TAP_PREFIX
NFT_FAMILY = "bridge"
NFT_TABLE = "neutrino_qos"
# Upstream's Linux bridge default when no burst is given: 80% of the rate, and the
# latency tbf queues at most.
DEFAULT_BURST_RATIO = 0.8
LATENCY_MS = 50
MIN_BURST_BYTES = 1600  # at least a full frame, or tbf drops everything
SUPPORTED_RULE_TYPES = ("bandwidth_limit", "dscp_marking")
RATE_TOLERANCE = 0.01  # tc reports rates back rounded by the kernel's tables


def ifb_name(port_id: str) -> str:
    return IFB_PREFIX + port_id[:11]


@dataclass(frozen=True)
class Limit:
    """A token bucket: rate in bytes per second, burst in bytes."""

    rate: int
    burst: int

    @classmethod
    def from_rule(cls, max_kbps: int, max_burst_kbps: int) -> Limit:
        burst_kbit = max_burst_kbps or max_kbps * DEFAULT_BURST_RATIO
        return cls(rate=max_kbps * 1000 // 8,
                   burst=max(int(burst_kbit * 1000 // 8), MIN_BURST_BYTES))

    def matches(self, other: Limit | None) -> bool:
        return other is not None and all(
            abs(a - b) <= RATE_TOLERANCE * max(a, 1)
            for a, b in ((self.rate, other.rate), (self.burst, other.burst)))


@dataclass(frozen=True)
class PortQos:
    port_id: str
    tap: str
    egress: Limit | None = None    # the VM's egress (tap ingress, through the ifb)
    ingress: Limit | None = None   # the VM's ingress (tap root qdisc)
    dscp: int | None = None

    @property
    def ifb(self) -> str:
        return ifb_name(self.port_id)


@dataclass
class TcState:
    """What tc shows of one tap (and its ifb)."""

    root: Limit | None = None          # our tbf as root qdisc
    other_root: bool = False           # a root qdisc that is not a plain tbf
    ingress_redirect: str | None = None  # the ifb the tap's ingress redirects to
    ingress_qdisc: bool = False
    ifb_exists: bool = False
    ifb_root: Limit | None = None


@dataclass(frozen=True)
class TcAction:
    op: str          # set_tbf | delete_root | ensure_ifb | delete_link | redirect_ingress
    device: str      # | delete_ingress
    limit: Limit | None = None
    target: str | None = None

    def __str__(self) -> str:
        extra = f" {self.limit}" if self.limit else ""
        return f"{self.op} {self.device}{extra}{' -> ' + self.target if self.target else ''}"


@dataclass
class Want:
    ports: dict[str, PortQos] = field(default_factory=dict)  # by tap


def layout(desired: L2State) -> Want:
    """The QoS of each port of the desired state that has rules (a server from
    before QoS sends no ``qos_rules``: nothing)."""
    want = Want()
    for port in desired["ports"]:
        rules = port.get("qos_rules") or []
        egress: Limit | None = None
        ingress: Limit | None = None
        dscp: int | None = None
        for rule in rules:
            if rule["type"] == "bandwidth_limit":
                limit = Limit.from_rule(rule["max_kbps"], rule["max_burst_kbps"] or 0)
                if rule["direction"] == "egress":
                    egress = limit
                else:
                    ingress = limit
            elif rule["type"] == "dscp_marking":
                dscp = rule["dscp_mark"]
        if egress is None and ingress is None and dscp is None:
            continue
        tap = port["device"]
        want.ports[tap] = PortQos(port["id"], tap, egress, ingress, dscp)
    return want


def plan_tc(want: Want, have: dict[str, TcState], ifbs: set[str]) -> list[TcAction]:
    """Actions for the taps present (`have`, by tap name); `ifbs` the ifb devices
    there. Stale ifbs (no port wanting an egress limit) are deleted."""
    actions: list[TcAction] = []
    wanted_ifbs: set[str] = set()
    for tap, state in sorted(have.items()):
        port = want.ports.get(tap)
        ingress = port.ingress if port else None
        egress = port.egress if port else None
        if ingress is not None:
            if not ingress.matches(state.root) or state.other_root:
                actions.append(TcAction("set_tbf", tap, ingress))
        elif state.root is not None:
            actions.append(TcAction("delete_root", tap))
        if egress is not None and port is not None:
            wanted_ifbs.add(port.ifb)
            if not state.ifb_exists and port.ifb not in ifbs:
                actions.append(TcAction("ensure_ifb", port.ifb))
            if not egress.matches(state.ifb_root):
                actions.append(TcAction("set_tbf", port.ifb, egress))
            if state.ingress_redirect != port.ifb:
                actions.append(TcAction("redirect_ingress", tap, target=port.ifb))
        elif state.ingress_qdisc:
            actions.append(TcAction("delete_ingress", tap))
    for ifb in sorted(ifbs - wanted_ifbs):
        actions.append(TcAction("delete_link", ifb))
    return actions


def render_nft(want: Want) -> str:
    """The whole QoS table; one `nft -f` replaces the previous one atomically."""
    lines = [f"table {NFT_FAMILY} {NFT_TABLE}", f"delete table {NFT_FAMILY} {NFT_TABLE}",
             f"table {NFT_FAMILY} {NFT_TABLE} {{",
             "  chain prerouting {",
             "    type filter hook prerouting priority 0; policy accept;"]
    for tap, port in sorted(want.ports.items()):
        if port.dscp is None:
            continue
        lines.append(f'    iifname "{tap}" ether type ip ip dscp set {port.dscp}')
        lines.append(f'    iifname "{tap}" ether type ip6 ip6 dscp set {port.dscp}')
    lines += ["  }", "}", ""]
    return "\n".join(lines)


def needs_nft(want: Want) -> bool:
    return any(p.dscp is not None for p in want.ports.values())
