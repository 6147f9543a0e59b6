"""VPNaaS on the L3 agent (agent/l3/vpn/, pure parts): every API algorithm name
and DH group mapped to strongSwan's proposal keywords (ESP and IKE, AEAD and
not), lifetimes, DPD, initiator, identities, the PSK encoding, what userspace ESP
cannot run, the exact swanctl.conf, charon's strongswan.conf, the NAT exemptions,
`swanctl --list-sas --raw` parsing, the statuses and what the reporter sends."""

from __future__ import annotations

import copy
import itertools

import pytest

from neutrino.agent.l3 import nat
from neutrino.agent.l3.nat import NatSettings
from neutrino.agent.l3.vpn import render, status
from neutrino.agent.l3.vpn.render import Paths, Settings, Unsupported
from neutrino.agent.l3.vpn.reporter import VpnStatusReporter
from neutrino.agent.l3.vpn.status import Charon, Sa

S1 = "11111111-0000-0000-0000-000000000001"
C1, C2 = "c1111111-0000-0000-0000-000000000001", "c2222222-0000-0000-0000-000000000002"
API_ENCRYPTION = ["3des", "aes-128", "aes-192", "aes-256", "aes-128-ctr", "aes-192-ctr",
                  "aes-256-ctr", *(f"aes-{b}-{m}-{i}" for m in ("ccm", "gcm")
                                   for i in (8, 12, 16) for b in (128, 192, 256))]
API_AUTH = ["sha1", "sha256", "sha384", "sha512", "aes-xcbc", "aes-cmac"]
API_PFS = [f"group{n}" for n in (1, 2, 5, *range(14, 33))]


def ike(**attrs: object) -> dict:
    return {"ike_version": "v2", "auth_algorithm": "sha1",
            "encryption_algorithm": "aes-128", "pfs": "group14",
            "lifetime_seconds": 3600, "phase1_negotiation_mode": "main", **attrs}


def ipsec(**attrs: object) -> dict:
    return {"transform_protocol": "esp", "encapsulation_mode": "tunnel",
            "auth_algorithm": "sha1", "encryption_algorithm": "aes-128",
            "pfs": "group14", "lifetime_seconds": 3600, **attrs}


def connection(cid: str = C1, **attrs: object) -> dict:
    return {"id": cid, "status": "PENDING_CREATE", "admin_state_up": True,
            "peer_address": "172.24.4.20", "peer_id": "172.24.4.20", "local_id": "",
            "local_cidrs": ["10.1.0.0/24"], "peer_cidrs": ["10.2.0.0/24"],
            "psk": "secret", "mtu": 1500, "initiator": "bi-directional",
            "dpd_action": "hold", "dpd_interval": 30, "dpd_timeout": 120,
            "ikepolicy": ike(), "ipsecpolicy": ipsec(), **attrs}


def service(*connections: dict, sid: str = S1, up: bool = True,
            state: str = "PENDING_CREATE") -> dict:
    return {"id": sid, "status": state, "admin_state_up": up,
            "external_v4_ip": "172.24.4.10", "external_v6_ip": "2001:db8::10",
            "connections": list(connections)}


def router(*services: dict, gateway: bool = True) -> dict:
    gw = {"port_id": "gggggggg-1111", "device": "qg-gggggggg-11", "network_id": "n",
          "fixed_ips": [{"ip_address": "172.24.4.10", "cidr": "172.24.4.0/24",
                         "subnet_id": "s", "prefixlen": 24, "ip_version": 4,
                         "gateway_ip": "172.24.4.1"}]}
    return {"id": "r1", "enable_snat": True, "gateway": gw if gateway else None,
            "interfaces": [], "floating_ips": [], "routes": [],
            "vpn_services": list(services)}


def lines_of(connection_: dict, svc: dict | None = None,
             settings: Settings | None = None) -> list[str]:
    lines, _ = render.connection_lines(connection_, svc or service(),
                                       settings or Settings())
    return lines


# -- algorithm mappings ---------------------------------------------------------------------


def test_every_api_name_is_mapped() -> None:
    assert sorted(render.ENCRYPTION) == sorted(API_ENCRYPTION)
    assert sorted(render.INTEGRITY) == sorted(API_AUTH)
    assert set(API_PFS) <= set(render.DH_GROUPS)


@pytest.mark.parametrize(("name", "keyword"), [
    ("3des", "3des"), ("aes-128", "aes128"), ("aes-192", "aes192"), ("aes-256", "aes256"),
    ("aes-128-ctr", "aes128ctr"), ("aes-256-ctr", "aes256ctr"),
    ("aes-128-ccm-8", "aes128ccm8"), ("aes-192-ccm-12", "aes192ccm12"),
    ("aes-256-ccm-16", "aes256ccm16"), ("aes-128-gcm-8", "aes128gcm8"),
    ("aes-192-gcm-12", "aes192gcm12"), ("aes-256-gcm-16", "aes256gcm16")])
def test_encryption_keywords(name: str, keyword: str) -> None:
    assert render.ENCRYPTION[name] == keyword


@pytest.mark.parametrize(("group", "keyword"), [
    ("group1", "modp768"), ("group2", "modp1024"), ("group5", "modp1536"),
    ("group14", "modp2048"), ("group15", "modp3072"), ("group16", "modp4096"),
    ("group17", "modp6144"), ("group18", "modp8192"), ("group19", "ecp256"),
    ("group20", "ecp384"), ("group21", "ecp521"), ("group22", "modp1024s160"),
    ("group23", "modp2048s224"), ("group24", "modp2048s256"), ("group25", "ecp192"),
    ("group26", "ecp224"), ("group27", "ecp224bp"), ("group28", "ecp256bp"),
    ("group29", "ecp384bp"), ("group30", "ecp512bp"), ("group31", "curve25519"),
    ("group32", "curve448")])
def test_dh_groups(group: str, keyword: str) -> None:
    assert render.DH_GROUPS[group] == keyword
    assert render.esp_proposal(ipsec(pfs=group)) == f"aes128-sha1-{keyword}"
    assert render.ike_proposal(ike(pfs=group)) == f"aes128-sha1-{keyword}"


@pytest.mark.parametrize(("encryption", "auth"),
                         list(itertools.product(API_ENCRYPTION, API_AUTH)))
def test_proposals_every_pair(encryption: str, auth: str) -> None:
    """Every encryption x integrity pair: ESP drops the integrity of an AEAD cipher,
    IKE makes it the PRF."""
    cipher, integ = render.ENCRYPTION[encryption], render.INTEGRITY[auth]
    esp = render.esp_proposal(ipsec(encryption_algorithm=encryption, auth_algorithm=auth))
    ike_ = render.ike_proposal(ike(encryption_algorithm=encryption, auth_algorithm=auth))
    if "-ccm-" in encryption or "-gcm-" in encryption:
        assert esp == f"{cipher}-modp2048"
        assert ike_ == f"{cipher}-prf{integ}-modp2048"
    else:
        assert esp == f"{cipher}-{integ}-modp2048"
        assert ike_ == f"{cipher}-{integ}-modp2048"


def test_ah_proposal() -> None:
    assert render.ah_proposal(ipsec(auth_algorithm="sha256", pfs="group5")) == \
        "sha256-modp1536"


@pytest.mark.parametrize(("policy", "what"), [
    (ipsec(encryption_algorithm="blowfish"), "encryption algorithm"),
    (ipsec(auth_algorithm="md5"), "auth algorithm"),
    (ipsec(pfs="group99"), "DH group")])
def test_unknown_algorithms_are_refused(policy: dict, what: str) -> None:
    with pytest.raises(Unsupported, match=what):
        render.esp_proposal(policy)


# -- one connection ---------------------------------------------------------------------------


def test_lifetimes() -> None:
    assert render.lifetimes(3600) == (3240, 360)
    assert render.lifetimes(28800) == (25920, 2880)
    assert render.lifetimes(None) == (3240, 360)
    assert render.lifetimes(10) == (54, 6)  # at least a minute


@pytest.mark.parametrize(("initiator", "start"), [("bi-directional", "start"),
                                                 ("response-only", "none")])
def test_initiator(initiator: str, start: str) -> None:
    assert f"start_action = {start}" in lines_of(connection(initiator=initiator))


@pytest.mark.parametrize(("dpd", "userspace", "action"), [
    ("hold", False, "trap"), ("hold", True, "restart"), ("clear", True, "clear"),
    ("restart", True, "restart"), ("restart-by-peer", True, "clear")])
def test_dpd(dpd: str, userspace: bool, action: str) -> None:
    lines = lines_of(connection(dpd_action=dpd), settings=Settings(userspace_esp=userspace))
    assert f"dpd_action = {action}" in lines
    assert "dpd_delay = 30s" in lines
    assert not any(line.startswith("dpd_timeout") for line in lines)  # IKEv2


def test_dpd_disabled() -> None:
    lines = lines_of(connection(dpd_action="disabled"))
    assert not any(line.startswith("dpd_delay") for line in lines)
    assert "dpd_action = clear" in lines


def test_ikev1_main_and_aggressive() -> None:
    lines = lines_of(connection(ikepolicy=ike(ike_version="v1", lifetime_seconds=7200)))
    assert {"version = 1", "aggressive = no", "reauth_time = 6480s", "over_time = 720s",
            "dpd_timeout = 120s"} <= set(lines)
    assert not any(line.startswith("rekey_time = 6480") for line in lines)
    lines = lines_of(connection(ikepolicy=ike(ike_version="v1",
                                              phase1_negotiation_mode="aggressive")))
    assert "aggressive = yes" in lines


def test_identities_default_to_the_addresses() -> None:
    lines, secret = render.connection_lines(connection(peer_id=""), service(), Settings())
    assert 'id = "172.24.4.10"' in lines and 'id = "172.24.4.20"' in lines
    assert secret[1:3] == ['id-1 = "172.24.4.10"', 'id-2 = "172.24.4.20"']


def test_identities_quoted() -> None:
    lines, secret = render.connection_lines(
        connection(local_id='@a"b', peer_id="C=CH, O=x\\y"), service(), Settings())
    assert 'id = "@a\\"b"' in lines
    assert 'id = "C=CH, O=x\\\\y"' in lines
    assert secret[1] == 'id-1 = "@a\\"b"'


def test_psk_is_hex() -> None:
    _, secret = render.connection_lines(connection(psk='p"s k}#\n'), service(), Settings())
    assert secret[3] == "secret = 0x" + b'p"s k}#\n'.hex()


def test_ipv6_peer_uses_the_ipv6_gateway() -> None:
    lines = lines_of(connection(peer_address="2001:db8::20", local_cidrs=["fd00:1::/64"],
                                peer_cidrs=["fd00:2::/64"]))
    assert "local_addrs = 2001:db8::10" in lines
    assert "local_ts = fd00:1::/64" in lines


def test_cidrs_are_normalised_and_joined() -> None:
    lines = lines_of(connection(local_cidrs=["10.1.0.7/24", "10.3.0.0/16"]))
    assert "local_ts = 10.1.0.0/24,10.3.0.0/16" in lines


@pytest.mark.parametrize(("attrs", "why"), [
    ({"ipsecpolicy": ipsec(transform_protocol="ah")}, "no AH"),
    ({"ipsecpolicy": ipsec(encapsulation_mode="transport")}, "tunnel mode only"),
    ({"ipsecpolicy": ipsec(transform_protocol="ah-esp")}, "bundles"),
    ({"peer_address": "2001:db8::20"}, "no IPv6 gateway"),
    ({"local_cidrs": []}, "no local CIDRs"),
    ({"psk": ""}, "no pre-shared key"),
    ({"initiator": "sometimes"}, "initiator"),
    ({"ikepolicy": ike(ike_version="v3")}, "IKE version")])
def test_unsupported(attrs: dict, why: str) -> None:
    svc = dict(service(), external_v6_ip=None)
    with pytest.raises(Unsupported, match=why):
        render.connection_lines(connection(**attrs), svc, Settings())


def test_kernel_esp_renders_ah_and_transport() -> None:
    lines = lines_of(connection(ipsecpolicy=ipsec(transform_protocol="ah",
                                                  encapsulation_mode="transport")),
                     settings=Settings(userspace_esp=False))
    assert "ah_proposals = sha1-modp2048" in lines and "mode = transport" in lines
    assert "encap = yes" not in lines


# -- a router ------------------------------------------------------------------------------------


EXPECTED = """connections {
\tc1111111-0000-0000-0000-000000000001 {
\t\tversion = 2
\t\tlocal_addrs = 172.24.4.10
\t\tremote_addrs = 172.24.4.20
\t\tproposals = aes128-sha1-modp2048
\t\tencap = yes
\t\trekey_time = 3240s
\t\tover_time = 360s
\t\tdpd_delay = 30s
\t\tkeyingtries = 0
\t\tmobike = no
\t\tlocal {
\t\t\tauth = psk
\t\t\tid = "172.24.4.10"
\t\t}
\t\tremote {
\t\t\tauth = psk
\t\t\tid = "172.24.4.20"
\t\t}
\t\tchildren {
\t\t\tc1111111-0000-0000-0000-000000000001 {
\t\t\t\tlocal_ts = 10.1.0.0/24
\t\t\t\tremote_ts = 10.2.0.0/24
\t\t\t\tesp_proposals = aes128-sha1-modp2048
\t\t\t\trekey_time = 3240s
\t\t\t\tlife_time = 3600s
\t\t\t\tmode = tunnel
\t\t\t\tstart_action = start
\t\t\t\tdpd_action = restart
\t\t\t}
\t\t}
\t}
}
secrets {
\tike-c1111111-0000-0000-0000-000000000001 {
\t\tid-1 = "172.24.4.10"
\t\tid-2 = "172.24.4.20"
\t\tsecret = 0x736563726574
\t}
}
"""


def test_exact_swanctl_conf() -> None:
    rendered = render.render(router(service(connection())))
    assert rendered is not None
    assert rendered.swanctl == EXPECTED
    assert rendered.connections == {C1: S1}
    assert rendered.errors == {} and rendered.services == (S1,)
    assert len(rendered.digest) == render.DIGEST_LEN


def test_nothing_to_run() -> None:
    assert render.render(router()) is None
    assert render.render(router(service(connection(), up=False))) is None
    assert render.render(router(service(connection()), gateway=False)) is None
    # No admin-up connection: no charon (upstream's IPsecProcess.active).
    assert render.render(router(service())) is None
    assert render.render(router(service(connection(admin_state_up=False)))) is None


def test_connections_admin_down_and_unrunnable_left_out() -> None:
    rendered = render.render(router(service(
        connection(C2, admin_state_up=False),
        connection(C1, ipsecpolicy=ipsec(transform_protocol="ah")))))
    assert rendered is not None
    assert rendered.connections == {} and set(rendered.errors) == {C1}
    assert rendered.swanctl == "connections {\n}\nsecrets {\n}\n"


def test_digest_follows_the_text() -> None:
    a = render.render(router(service(connection())))
    b = render.render(router(service(connection(psk="other"))))
    assert a is not None and b is not None and a.digest != b.digest


def test_strongswan_conf() -> None:
    text = render.strongswan_conf(Paths("/s/ipsec/r1"))
    assert "load_modular = no" in text
    assert "socket-default kernel-libipsec kernel-netlink vici" in text  # libipsec first
    assert "socket = unix:///run/charon.vici" in text
    assert "path = /s/ipsec/r1/charon.log" in text
    assert "kernel-libipsec" not in render.strongswan_conf(
        Paths("/s"), Settings(userspace_esp=False))
    paths = Paths("/s/ipsec/r1")
    assert paths.pid == "/s/ipsec/r1/run/charon.pid"
    assert paths.vici == "/s/ipsec/r1/run/charon.vici"


def test_nat_exemptions_before_snat() -> None:
    r = router(service(connection(local_cidrs=["10.1.0.0/24"],
                                  peer_cidrs=["10.2.0.0/24", "fd00::/64"]),
                       connection(C2, admin_state_up=False, peer_cidrs=["10.9.0.0/24"])))
    r["interfaces"] = [{"port_id": "i", "device": "qr-i", "fixed_ips": [
        {"ip_address": "10.1.0.1", "cidr": "10.1.0.0/24"}]}]
    assert render.nat_exemptions(r) == [("10.1.0.0/24", "10.2.0.0/24")]
    rules = nat.chains(r, NatSettings())["postrouting"]
    assert rules[:3] == ['oifname != "qg-gggggggg-11" ct status != dnat accept',
                         "ip saddr 10.1.0.0/24 ip daddr 10.2.0.0/24 accept",
                         'oifname "qg-gggggggg-11" snat to 172.24.4.10']
    r["vpn_services"] = []
    assert "ip daddr 10.2.0.0/24" not in " ".join(nat.chains(r, NatSettings())["postrouting"])


# -- charon's SAs and the statuses ----------------------------------------------------------

RAW = (
    f"list-sa event {{{C1} {{uniqueid=1 version=2 state=ESTABLISHED local-host=172.24.4.10 "
    "local-id=172.24.4.10 initiator=yes encr-alg=AES_CBC encr-keysize=128 child-sas "
    f"{{{C1}-2 {{name={C1} uniqueid=2 reqid=1 state=INSTALLED mode=TUNNEL protocol=ESP "
    "encap=yes local-ts=[10.1.0.0/24] remote-ts=[10.2.0.0/24 10.3.0.0/24]}}}}\n"
    f"list-sa event {{{C2} {{uniqueid=3 version=2 state=CONNECTING child-sas {{}}}}}}\n"
    "list-sas reply {}\n")


def test_parse_sas() -> None:
    sas = status.parse_sas(RAW)
    assert sas[C1].ike_states == ["ESTABLISHED"] and sas[C1].child_states == ["INSTALLED"]
    assert sas[C1].up
    assert sas[C2].ike_states == ["CONNECTING"] and not sas[C2].up
    assert status.parse_sas("list-sas reply {}\n") == {}
    assert status.parse_sas("") == {}


@pytest.mark.parametrize(("ike_states", "child_states", "up"), [
    (["ESTABLISHED"], ["INSTALLED"], True), (["ESTABLISHED"], ["REKEYING"], True),
    (["ESTABLISHED"], ["INSTALLING"], False), (["CONNECTING"], [], False),
    (["DELETING"], ["INSTALLED"], False)])
def test_sa_up(ike_states: list, child_states: list, up: bool) -> None:
    assert Sa(ike_states, child_states).up is up


def running(*up: str, errors: dict | None = None) -> Charon:
    return Charon(running=True, sas={c: Sa(["ESTABLISHED"], ["INSTALLED"]) for c in up},
                  loaded=frozenset([C1, C2]), errors=errors or {})


def test_statuses() -> None:
    svc = service(connection(C1), connection(C2, status="ACTIVE"))
    [report] = status.service_statuses([svc], running(C1))
    assert report == {"id": S1, "status": "ACTIVE", "updated_pending_status": True,
                      "ipsec_site_connections": {
                          C1: {"status": "ACTIVE", "updated_pending_status": True},
                          C2: {"status": "DOWN", "updated_pending_status": False}}}


@pytest.mark.parametrize(("charon", "svc_up", "service_status", "connection_status"), [
    (Charon(running=False), True, "DOWN", "DOWN"),
    (Charon(running=False, failed=True), True, "ERROR", "DOWN"),
    (running(C1), False, "DOWN", "DOWN"),
    (running(C1, errors={C1: "no AH"}), True, "ACTIVE", "ERROR"),
    (Charon(running=True, sas={C1: Sa(["ESTABLISHED"], ["INSTALLED"])}), True, "ACTIVE",
     "DOWN"),  # not in the configuration charon runs
])
def test_status_cases(charon: Charon, svc_up: bool, service_status: str,
                      connection_status: str) -> None:
    [report] = status.service_statuses([service(connection(), up=svc_up)], charon)
    assert report["status"] == service_status
    assert report["ipsec_site_connections"][C1]["status"] == connection_status


def test_connection_admin_down_is_down() -> None:
    [report] = status.service_statuses(
        [service(connection(admin_state_up=False))], running(C1))
    assert report["ipsec_site_connections"][C1]["status"] == "DOWN"


def test_changed_only_what_the_server_does_not_have() -> None:
    same = service(connection(status="ACTIVE"), state="ACTIVE")
    assert status.changed([same], running(C1)) == []
    assert [r["id"] for r in status.changed([same], running())] == [S1]
    pending = service(connection(status="ACTIVE"), state="PENDING_UPDATE")
    assert status.changed([pending], running(C1))[0]["updated_pending_status"] is True


class FakeCharons:
    def __init__(self) -> None:
        self.charon = running()

    def observe(self, router_id: str, router_: dict) -> Charon:
        return self.charon


def test_reporter_reports_each_change_once() -> None:
    charons, sent = FakeCharons(), []
    reporter = VpnStatusReporter(charons, sent.append)  # type: ignore[arg-type]
    r = router(service(connection(status="PENDING_CREATE")))
    reporter.watch({"r1": r, "r-none": router()})
    assert reporter.tick()[0]["ipsec_site_connections"][C1]["status"] == "DOWN"
    assert reporter.tick() == []  # the server has not caught up: not repeated
    charons.charon = running(C1)
    assert reporter.tick()[0]["ipsec_site_connections"][C1]["status"] == "ACTIVE"
    assert len(sent) == 2
    # The server caught up: nothing more.
    caught_up = copy.deepcopy(r)
    caught_up["vpn_services"][0]["status"] = "ACTIVE"
    caught_up["vpn_services"][0]["connections"][0]["status"] = "ACTIVE"
    reporter.watch({"r1": caught_up})
    assert reporter.tick() == []
    # A cast lost: after the next watch the same report goes again.
    reporter.watch({"r1": r})
    assert len(reporter.tick()) == 1


def test_nat_exemptions_read_back_from_the_kernel_listing() -> None:
    listing = ("table ip neutrino-nat {\n\tchain postrouting {\n"
               "\t\tip saddr 10.1.0.0/24 ip daddr 10.2.0.0/24 accept\n"
               '\t\toifname "qg-x" snat to 172.24.4.10\n\t}\n}\n')
    assert nat.exemptions(listing) == {("10.1.0.0/24", "10.2.0.0/24")}
    assert nat.exemptions(None) == set()
