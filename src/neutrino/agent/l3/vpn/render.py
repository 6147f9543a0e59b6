"""VPNaaS (issue 16): a router's VPN services as strongSwan configuration; a router
of the "l3" desired state in, charon's ``strongswan.conf`` and the ``swanctl.conf``
its connections are loaded from out. Pure.

One charon per router runs every site connection of the router's enabled services
(admin up), each as a swanctl connection named by the connection's id with one
child of the same name::

  connections {
    <connection id> {
      version = 2                          ikepolicy.ike_version
      local_addrs = 172.24.4.10            the service's gateway address of the
      remote_addrs = 172.24.4.20           peer's IP version; peer_address
      encap = yes                          userspace ESP is ESP in UDP only
      proposals = aes128-sha1-modp2048     ikepolicy: encryption-integrity-DH
      rekey_time = 3240s                   90% of the lifetime, the rest over_time
      over_time = 360s
      dpd_delay = 30s                      dpd_interval (none when disabled)
      local { auth = psk; id = ... }       local_id, or the gateway address
      remote { auth = psk; id = ... }      peer_id
      children {
        <connection id> {
          local_ts = 10.1.0.0/24           local_cidrs
          remote_ts = 10.2.0.0/24          peer_cidrs
          esp_proposals = aes128-sha1-modp2048      ipsecpolicy (its pfs group)
          rekey_time = 3240s
          life_time = 3600s
          mode = tunnel
          start_action = start             bi-directional; response-only: none
          dpd_action = restart             hold: trap, clear, restart
        }
      }
    }
  }
  secrets {
    ike-<connection id> { id-1 = <local id>; id-2 = <peer id>; secret = 0x<hex> }
  }

The pre-shared key is written hex-encoded (``0x…``): any character of the API's
psk survives without quoting rules. Identities are quoted.

Userspace ESP (`Settings.userspace_esp`, the default: this kernel has no
``CONFIG_INET_ESP``): charon's ``kernel-libipsec`` plugin does ESP itself through a
TUN device (``ipsec0``) in the router namespace and routes the peer CIDRs into it
(table 220). libipsec does ESP in tunnel mode only, UDP-encapsulated, and has no
acquires: a connection asking for AH or transport mode is not rendered (its status
is ERROR, `Rendered.errors` says why), bi-directional connections are started
rather than trapped, and DPD ``hold`` (re-trap) becomes ``restart``.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

BINARY = "/usr/lib/ipsec/charon"
SWANCTL = "swanctl"
DIGEST_LEN = 16

# The API's names (upstream's) -> strongSwan's proposal keywords.
ENCRYPTION = {
    "3des": "3des",
    "aes-128": "aes128", "aes-192": "aes192", "aes-256": "aes256",
    "aes-128-ctr": "aes128ctr", "aes-192-ctr": "aes192ctr", "aes-256-ctr": "aes256ctr",
    **{f"aes-{bits}-{mode}-{icv}": f"aes{bits}{mode}{icv}"
       for bits in (128, 192, 256) for mode in ("ccm", "gcm") for icv in (8, 12, 16)},
}
INTEGRITY = {"sha1": "sha1", "sha256": "sha256", "sha384": "sha384", "sha512": "sha512",
             "aes-xcbc": "aesxcbc", "aes-cmac": "aescmac"}
DH_GROUPS = {
    "group1": "modp768", "group2": "modp1024", "group5": "modp1536",
    "group14": "modp2048", "group15": "modp3072", "group16": "modp4096",
    "group17": "modp6144", "group18": "modp8192",
    "group19": "ecp256", "group20": "ecp384", "group21": "ecp521",
    "group22": "modp1024s160", "group23": "modp2048s224", "group24": "modp2048s256",
    "group25": "ecp192", "group26": "ecp224",
    "group27": "ecp224bp", "group28": "ecp256bp", "group29": "ecp384bp",
    "group30": "ecp512bp", "group31": "curve25519", "group32": "curve448",
}
IKE_VERSIONS = {"v1": "1", "v2": "2"}
# bi-directional: this side initiates; response-only: it waits for the peer.
START_ACTIONS = {"bi-directional": "start", "response-only": "none"}
# Upstream's dpd_action -> swanctl's (ipsec.conf's hold is swanctl's trap).
DPD_ACTIONS = {"hold": "trap", "clear": "clear", "restart": "restart",
               "restart-by-peer": "clear", "disabled": "clear"}
MODES = ("tunnel", "transport")

# What charon loads: crypto (openssl for AEAD, ECP, 3DES, brainpool; gmp for MODP),
# the sockets, the kernel interfaces and vici. A plugin missing from the host is
# only a warning in charon's log.
# The kernel-libipsec plugin must come before kernel-netlink: the first one loaded
# that provides the IPsec kernel interface is the one used (kernel-netlink stays
# the networking interface: addresses, routes).
CHARON_PLUGINS = ("random nonce aes sha1 sha2 md5 hmac xcbc cmac ctr ccm gcm gmp openssl "
                  "curve25519 kdf pem pkcs1 x509 pubkey socket-default {userspace}"
                  "kernel-netlink vici")
USERSPACE_PLUGIN = "kernel-libipsec"
ACTIVE, DOWN, ERROR = "ACTIVE", "DOWN", "ERROR"


@dataclass(frozen=True)
class Settings:
    userspace_esp: bool = True   # kernel-libipsec (no kernel ESP on this host)


@dataclass(frozen=True)
class Paths:
    """A router's private files (charon's /run is bound onto `run`: its pid file
    and sockets never meet another router's charon)."""

    directory: str

    @property
    def strongswan_conf(self) -> str:
        return f"{self.directory}/strongswan.conf"

    @property
    def swanctl_conf(self) -> str:
        return f"{self.directory}/swanctl.conf"

    @property
    def vici(self) -> str:
        return f"{self.run}/charon.vici"

    @property
    def log(self) -> str:
        return f"{self.directory}/charon.log"

    @property
    def run(self) -> str:
        return f"{self.directory}/run"

    @property
    def pid(self) -> str:
        return f"{self.run}/charon.pid"  # charon's /var/run/charon.pid, bound


# The vici socket as charon sees it (its /run is the router's run/) and as swanctl
# reaches it from the router's directory: a unix socket's path is at most 107
# bytes, which $state_path/ipsec/<router id>/... may exceed.
VICI_IN_CHARON = "unix:///run/charon.vici"
VICI_FROM_DIRECTORY = "unix://run/charon.vici"


@dataclass(frozen=True)
class Rendered:
    """A router's configuration: swanctl.conf's text, the connections in it (id ->
    its service), those not rendered (id -> why) and the enabled services."""

    swanctl: str
    connections: Mapping[str, str] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)
    services: tuple[str, ...] = ()

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.swanctl.encode()).hexdigest()[:DIGEST_LEN]


class Unsupported(ValueError):
    """A connection this host cannot run (the message says why)."""


# -- proposals ------------------------------------------------------------------------


def _pick(table: Mapping[str, str], value: Any, what: str) -> str:
    try:
        return table[str(value)]
    except KeyError:
        raise Unsupported(f"unknown {what} {value!r}") from None


def is_aead(encryption: str) -> bool:
    return "-ccm-" in encryption or "-gcm-" in encryption


def ike_proposal(policy: Mapping[str, Any]) -> str:
    """encryption-integrity-DH; with an AEAD cipher the auth algorithm is the PRF
    (AEAD has no separate integrity)."""
    encryption = str(policy.get("encryption_algorithm"))
    cipher = _pick(ENCRYPTION, encryption, "encryption algorithm")
    integrity = _pick(INTEGRITY, policy.get("auth_algorithm"), "auth algorithm")
    group = _pick(DH_GROUPS, policy.get("pfs"), "DH group")
    middle = f"prf{integrity}" if is_aead(encryption) else integrity
    return f"{cipher}-{middle}-{group}"


def esp_proposal(policy: Mapping[str, Any]) -> str:
    """encryption-integrity-DH (the DH group: PFS of the child SA); an AEAD cipher
    carries no integrity algorithm."""
    encryption = str(policy.get("encryption_algorithm"))
    cipher = _pick(ENCRYPTION, encryption, "encryption algorithm")
    integrity = _pick(INTEGRITY, policy.get("auth_algorithm"), "auth algorithm")
    group = _pick(DH_GROUPS, policy.get("pfs"), "DH group")
    return f"{cipher}-{group}" if is_aead(encryption) else f"{cipher}-{integrity}-{group}"


def ah_proposal(policy: Mapping[str, Any]) -> str:
    integrity = _pick(INTEGRITY, policy.get("auth_algorithm"), "auth algorithm")
    return f"{integrity}-{_pick(DH_GROUPS, policy.get('pfs'), 'DH group')}"


def lifetimes(seconds: Any) -> tuple[int, int]:
    """(rekey, over) seconds: rekeyed at 90% of the lifetime, gone at its end."""
    total = max(int(seconds or 3600), 60)
    rekey = total * 9 // 10
    return rekey, total - rekey


# -- one connection ------------------------------------------------------------------


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def local_address(service: Mapping[str, Any], peer: str) -> str:
    """The service's gateway address of the peer's IP version (a peer given by name
    is taken as IPv4)."""
    try:
        version = ipaddress.ip_address(peer).version
    except ValueError:
        version = 4
    address = service.get("external_v6_ip" if version == 6 else "external_v4_ip")
    if not address:
        raise Unsupported(f"the router has no IPv{version} gateway address")
    return str(address)


def _cidrs(values: Any, what: str) -> str:
    nets = [str(ipaddress.ip_network(str(v), strict=False)) for v in values or []]
    if not nets:
        raise Unsupported(f"no {what}")
    return ",".join(nets)


def connection_lines(connection: Mapping[str, Any], service: Mapping[str, Any],
                     settings: Settings) -> tuple[list[str], list[str]]:
    """A connection's block (inside ``connections {}``) and its secret (inside
    ``secrets {}``); Unsupported when this host cannot run it."""
    name = str(connection["id"])
    ike = connection.get("ikepolicy") or {}
    ipsec = connection.get("ipsecpolicy") or {}
    peer = str(connection.get("peer_address") or "")
    if not peer:
        raise Unsupported("no peer address")
    local = local_address(service, peer)
    version = _pick(IKE_VERSIONS, ike.get("ike_version", "v1"), "IKE version")
    protocol = str(ipsec.get("transform_protocol") or "esp")
    mode = str(ipsec.get("encapsulation_mode") or "tunnel")
    if mode not in MODES:
        raise Unsupported(f"unknown encapsulation mode {mode!r}")
    if protocol not in ("esp", "ah", "ah-esp"):
        raise Unsupported(f"unknown transform protocol {protocol!r}")
    if protocol == "ah-esp":
        raise Unsupported("AH and ESP bundles are not supported by strongSwan")
    if settings.userspace_esp and protocol != "esp":
        raise Unsupported("userspace ESP (kernel-libipsec) does no AH")
    if settings.userspace_esp and mode != "tunnel":
        raise Unsupported("userspace ESP (kernel-libipsec) does tunnel mode only")
    start = _pick(START_ACTIONS, connection.get("initiator", "bi-directional"),
                  "initiator")
    dpd = str(connection.get("dpd_action") or "hold")
    dpd_action = _pick(DPD_ACTIONS, dpd, "DPD action")
    if settings.userspace_esp and dpd_action == "trap":
        dpd_action = "restart"  # libipsec has no trap policies (no acquires)
    local_id = str(connection.get("local_id") or local)
    peer_id = str(connection.get("peer_id") or peer)
    ike_rekey, ike_over = lifetimes(ike.get("lifetime_seconds"))
    child_rekey, _ = lifetimes(ipsec.get("lifetime_seconds"))
    child_life = max(int(ipsec.get("lifetime_seconds") or 3600), 60)
    local_ts = _cidrs(connection.get("local_cidrs"), "local CIDRs")
    remote_ts = _cidrs(connection.get("peer_cidrs"), "peer CIDRs")
    lines = [f"{name} {{", f"version = {version}", f"local_addrs = {local}",
             f"remote_addrs = {peer}", f"proposals = {ike_proposal(ike)}"]
    if settings.userspace_esp:
        lines.append("encap = yes")
    if version == "1":
        aggressive = ike.get("phase1_negotiation_mode") == "aggressive"
        lines.append(f"aggressive = {'yes' if aggressive else 'no'}")
        lines.append(f"reauth_time = {ike_rekey}s")  # IKEv1 rekeys by reauthenticating
    else:
        lines.append(f"rekey_time = {ike_rekey}s")
    lines.append(f"over_time = {ike_over}s")
    if dpd != "disabled":
        lines.append(f"dpd_delay = {int(connection.get('dpd_interval') or 30)}s")
        if version == "1":  # IKEv2 times DPD out by its retransmissions
            lines.append(f"dpd_timeout = {int(connection.get('dpd_timeout') or 120)}s")
    lines += ["keyingtries = 0", "mobike = no",
              "local {", "auth = psk", f"id = {quote(local_id)}", "}",
              "remote {", "auth = psk", f"id = {quote(peer_id)}", "}",
              "children {", f"{name} {{", f"local_ts = {local_ts}",
              f"remote_ts = {remote_ts}"]
    if protocol == "ah":
        lines.append(f"ah_proposals = {ah_proposal(ipsec)}")
    else:
        lines.append(f"esp_proposals = {esp_proposal(ipsec)}")
    lines += [f"rekey_time = {child_rekey}s", f"life_time = {child_life}s",
              f"mode = {mode}", f"start_action = {start}",
              f"dpd_action = {dpd_action if dpd != 'disabled' else 'clear'}",
              "}", "}", "}"]
    psk = str(connection.get("psk") or "")
    if not psk:
        raise Unsupported("no pre-shared key")
    secret = [f"ike-{name} {{", f"id-1 = {quote(local_id)}", f"id-2 = {quote(peer_id)}",
              f"secret = 0x{psk.encode().hex()}", "}"]
    return lines, secret


# -- a router ---------------------------------------------------------------------------


def enabled_services(router: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The router's VPN services charon runs: admin up with an admin-up connection
    (upstream's IPsecProcess.active: a service whose connections are all gone or
    down has no process), on a router with a gateway (no local endpoint otherwise),
    sorted by id."""
    if not router.get("gateway"):
        return []
    return sorted((s for s in router.get("vpn_services") or []
                   if s.get("admin_state_up", True)
                   and any(c.get("admin_state_up", True)
                           for c in s.get("connections") or [])),
                  key=lambda s: str(s["id"]))


def render(router: Mapping[str, Any], settings: Settings | None = None
           ) -> Rendered | None:
    """The router's swanctl.conf; None when no service is enabled (then no charon)."""
    settings = settings or Settings()
    services = enabled_services(router)
    if not services:
        return None
    blocks: list[str] = []
    secrets: list[str] = []
    connections: dict[str, str] = {}
    errors: dict[str, str] = {}
    for service in services:
        for connection in sorted(service.get("connections") or [],
                                 key=lambda c: str(c["id"])):
            if not connection.get("admin_state_up", True):
                continue
            try:
                lines, secret = connection_lines(connection, service, settings)
            except (Unsupported, ValueError) as error:
                errors[str(connection["id"])] = str(error)
                continue
            blocks += lines
            secrets += secret
            connections[str(connection["id"])] = str(service["id"])
    text = _indent(["connections {", *blocks, "}", "secrets {", *secrets, "}"])
    return Rendered(swanctl=text, connections=connections, errors=errors,
                    services=tuple(str(s["id"]) for s in services))


def _indent(lines: list[str]) -> str:
    out, depth = [], 0
    for line in lines:
        if line == "}":
            depth -= 1
        out.append("\t" * depth + line)
        if line.endswith("{"):
            depth += 1
    return "".join(line + "\n" for line in out)


def strongswan_conf(paths: Paths, settings: Settings | None = None) -> str:
    """charon's own configuration: its plugins, the vici socket and log in the
    router's directory, nothing to syslog."""
    settings = settings or Settings()
    plugins = CHARON_PLUGINS.format(
        userspace=f"{USERSPACE_PLUGIN} " if settings.userspace_esp else "")
    return (
        "charon {\n"
        "\tload_modular = no\n"
        f"\tload = {plugins}\n"
        "\tinstall_virtual_ip = no\n"
        "\tplugins {\n"
        f"\t\tvici {{\n\t\t\tsocket = {VICI_IN_CHARON}\n\t\t}}\n"
        "\t}\n"
        "\tfilelog {\n"
        f"\t\trouter {{\n\t\t\tpath = {paths.log}\n\t\t\tdefault = 1\n"
        "\t\t\tflush_line = yes\n\t\t\ttime_format = %b %e %T\n\t\t}\n"
        "\t}\n"
        "\tsyslog {\n\t\tdaemon {\n\t\t\tdefault = -1\n\t\t}\n\t}\n"
        "}\n")


def nat_exemptions(router: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(local CIDR, peer CIDR) IPv4 pairs of the enabled connections: traffic
    between them must leave unSNATed (it goes into the tunnel), as upstream's
    POSTROUTING ACCEPT rules."""
    pairs: set[tuple[str, str]] = set()
    for service in enabled_services(router):
        for connection in service.get("connections") or []:
            if not connection.get("admin_state_up", True):
                continue
            for local in connection.get("local_cidrs") or []:
                for peer in connection.get("peer_cidrs") or []:
                    try:
                        a = ipaddress.ip_network(str(local), strict=False)
                        b = ipaddress.ip_network(str(peer), strict=False)
                    except ValueError:
                        continue
                    if a.version == b.version == 4:
                        pairs.add((str(a), str(b)))
    return sorted(pairs, key=lambda p: (ipaddress.ip_network(p[0]),
                                        ipaddress.ip_network(p[1])))
