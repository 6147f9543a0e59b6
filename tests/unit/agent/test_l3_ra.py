"""The L3 agent's radvd.conf renderer (agent/l3/ra.py): what each ipv6_ra_mode
advertises, several prefixes and interfaces, and no RA where upstream sends none."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from neutrino.agent.l3 import ra
from neutrino.agent.l3.ra import RaSettings

SETTINGS = RaSettings(min_rtr_adv_interval=30, max_rtr_adv_interval=100)


def fixed(cidr: str, ra_mode: str | None, address_mode: str | None = None,
          dns: tuple[str, ...] = ()) -> dict[str, Any]:
    version = 6 if ":" in cidr else 4
    gateway = cidr.split("/")[0] + "1"
    return {"subnet_id": f"s-{cidr}", "ip_address": gateway, "cidr": cidr,
            "prefixlen": int(cidr.split("/")[1]), "ip_version": version,
            "gateway_ip": gateway, "ipv6_ra_mode": ra_mode,
            "ipv6_address_mode": address_mode if address_mode else ra_mode,
            "dns_nameservers": list(dns)}


def interface(port_id: str, *fixed_ips: dict[str, Any], mtu: int = 1450
              ) -> dict[str, Any]:
    return {"port_id": port_id, "device": "qr-" + port_id[:11], "mtu": mtu,
            "mac_address": "fa:16:3e:00:00:01", "fixed_ips": list(fixed_ips)}


def router(*interfaces: dict[str, Any]) -> dict[str, Any]:
    return {"id": "r1", "interfaces": list(interfaces), "gateway": None}


def block(text: str, device: str) -> str:
    """The `interface <device> { ... };` block of a rendered configuration."""
    start = text.index(f"interface {device}\n")
    return text[start:text.index("\n};", start) + 3]


def test_slaac_prefix_is_autonomous_without_flags() -> None:
    text = ra.render(router(interface("p1aaaaaaaaaaa", fixed("2001:db8:1::/64", "slaac"))),
                     SETTINGS)
    assert text is not None
    assert block(text, "qr-p1aaaaaaaaa") == """interface qr-p1aaaaaaaaa
{
    AdvSendAdvert on;
    MinRtrAdvInterval 30;
    MaxRtrAdvInterval 100;
    AdvLinkMTU 1450;
    AdvManagedFlag off;
    AdvOtherConfigFlag off;
    prefix 2001:db8:1::/64
    {
        AdvOnLink on;
        AdvAutonomous on;
    };
};"""


@pytest.mark.parametrize(("mode", "managed", "other", "autonomous"), [
    ("slaac", "off", "off", "on"),
    ("dhcpv6-stateless", "off", "on", "on"),
    ("dhcpv6-stateful", "on", "off", "off"),
])
def test_each_ra_mode_sets_its_flags(mode: str, managed: str, other: str,
                                     autonomous: str) -> None:
    text = ra.render(router(interface("p1aaaaaaaaaaa", fixed("2001:db8:1::/64", mode))),
                     SETTINGS)
    assert text is not None
    assert f"AdvManagedFlag {managed};" in text
    assert f"AdvOtherConfigFlag {other};" in text
    assert f"AdvAutonomous {autonomous};" in text


def test_several_prefixes_on_one_interface_and_several_interfaces() -> None:
    text = ra.render(router(
        interface("p2bbbbbbbbbbb", fixed("2001:db8:2::/64", "slaac"),
                  fixed("2001:db8:3::/64", "dhcpv6-stateful"), fixed("10.0.0.0/24", None)),
        interface("p1aaaaaaaaaaa", fixed("2001:db8:1::/64", "dhcpv6-stateless"))),
        SETTINGS)
    assert text is not None
    # Sorted by device: the same router always renders the same text.
    assert text.index("qr-p1aaaaaaaaa") < text.index("qr-p2bbbbbbbbb")
    second = block(text, "qr-p2bbbbbbbbb")
    assert "prefix 2001:db8:2::/64\n    {\n        AdvOnLink on;\n" \
           "        AdvAutonomous on;" in second
    assert "prefix 2001:db8:3::/64\n    {\n        AdvOnLink on;\n" \
           "        AdvAutonomous off;" in second
    assert "AdvManagedFlag on;" in second and "10.0.0" not in text
    first = block(text, "qr-p1aaaaaaaaa")
    assert "AdvOtherConfigFlag on;" in first and "AdvManagedFlag off;" in first


def test_no_ra_without_ra_mode() -> None:
    # IPv4 only, IPv6 without ipv6_ra_mode (an external router's job, or static):
    # upstream's router sends no RA there; no interface at all: no radvd.
    assert ra.render(router(interface("p1aaaaaaaaaaa", fixed("10.0.0.0/24", None))),
                     SETTINGS) is None
    assert ra.render(router(interface("p1aaaaaaaaaaa",
                                      fixed("2001:db8:1::/64", None, "slaac"))),
                     SETTINGS) is None
    assert ra.render(router(), SETTINGS) is None
    text = ra.render(router(
        interface("p1aaaaaaaaaaa", fixed("2001:db8:1::/64", None, "dhcpv6-stateful")),
        interface("p2bbbbbbbbbbb", fixed("2001:db8:2::/64", "slaac"))), SETTINGS)
    assert text is not None
    assert "qr-p1aaaaaaaaa" not in text and "qr-p2bbbbbbbbb" in text


def test_rdnss_from_slaac_subnets_name_servers() -> None:
    text = ra.render(router(interface(
        "p1aaaaaaaaaaa",
        fixed("2001:db8:1::/64", "slaac", dns=("2001:db8::53", "10.0.0.53")),
        fixed("2001:db8:2::/64", "slaac", dns=("2001:db8::53", "2001:db8::35",
                                              "2001:db8::36", "2001:db8::37")))),
        SETTINGS)
    assert text is not None
    # IPv6 only, each once, at most three.
    assert "    RDNSS 2001:db8::53 2001:db8::35 2001:db8::36 {};\n" in text
    stateful = ra.render(router(interface(
        "p1aaaaaaaaaaa", fixed("2001:db8:1::/64", "dhcpv6-stateful",
                               dns=("2001:db8::53",)))), SETTINGS)
    assert stateful is not None and "RDNSS" not in stateful  # given by DHCPv6


def test_mtu_only_when_ipv6_can_use_it_and_intervals_from_settings() -> None:
    text = ra.render(router(interface("p1aaaaaaaaaaa", fixed("2001:db8:1::/64", "slaac"),
                                      mtu=1000)),
                     RaSettings(min_rtr_adv_interval=3, max_rtr_adv_interval=4))
    assert text is not None
    assert "AdvLinkMTU" not in text
    assert "MinRtrAdvInterval 3;" in text and "MaxRtrAdvInterval 4;" in text


def test_radvd_accepts_the_rendered_configuration(tmp_path: Path) -> None:
    if shutil.which("radvd") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("radvd is not installed (make venv installs it)")
        pytest.skip("radvd is not installed: `make venv` installs it")
    text = ra.render(router(
        interface("p1aaaaaaaaaaa", fixed("2001:db8:1::/64", "slaac", dns=("2001:db8::53",)),
                  fixed("2001:db8:3::/64", "dhcpv6-stateful")),
        interface("p2bbbbbbbbbbb", fixed("2001:db8:2::/64", "dhcpv6-stateless"))),
        SETTINGS)
    assert text is not None
    path = tmp_path / "radvd.conf"
    path.write_text(text)
    result = subprocess.run(["radvd", "--configtest", "-C", str(path), "-m", "stderr"],
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr + result.stdout
