"""DNS names and domains: upstream's RFC 1123 checks and messages, the checks against
the dns_domain option, and dns_assignment."""

from __future__ import annotations

import pytest

from neutrino import exceptions as exc
from neutrino.resources import dns as d


@pytest.mark.parametrize("name", ["", "host", "my-host", "a.b.example.org", "h1.",
                                  "x" * 63, "host.example.org."])
def test_valid_names(name: str) -> None:
    assert d.dns_format_error(name) is None
    assert d.convert_dns_name(name.upper()) == name


@pytest.mark.parametrize(("name", "reason"), [
    ("-host", "Name '-host' must not start or end with a hyphen"),
    ("a..b", "Encountered an empty component"),
    ("under_score", "Name 'under_score' must be 1-63 characters long, each of which "
                    "can only be alphanumeric or a hyphen"),
    ("x" * 64, f"Name '{'x' * 64}' must be 1-63 characters long, each of which can "
               "only be alphanumeric or a hyphen"),
    ("host.123", "TLD '123' must not be all numeric"),
])
def test_invalid_names(name: str, reason: str) -> None:
    assert d.dns_format_error(name) == f"'{name}' not a valid PQDN or FQDN. Reason: {reason}"
    with pytest.raises(exc.HTTPBadRequest) as info:
        d.convert_dns_name(name)
    assert info.value.msg == (f"Invalid input for dns_name. Reason: '{name}' not a valid "
                              f"PQDN or FQDN. Reason: {reason}.")


def test_name_too_long() -> None:
    name = ".".join(["a" * 63] * 4)  # 255 characters
    assert d.dns_format_error(name) is None
    assert "exceeds the 255 character FQDN limit" in d.dns_format_error(name + "x")


def test_non_string_is_invalid_input() -> None:
    with pytest.raises(exc.InvalidInput) as info:
        d.convert_dns_name(5)
    assert info.value.msg == "Invalid input for operation: Input value 5 must be string type."


def test_domains() -> None:
    assert d.convert_dns_domain("Example.ORG.") == "example.org."
    assert d.dns_domain_error("example.org") == "'example.org' is not a FQDN"
    long_domain = ".".join(["a" * 63] * 3) + "." + "b" * 61 + "."
    assert "Adding a sub-domain will cause it to exceed" in d.dns_domain_error(long_domain)


def test_names_against_the_dns_domain_option() -> None:
    # The default option (and none) lets anything through: the name is ignored.
    assert d.dns_name_domain_error("vm1.other.org.", "openstacklocal") is None
    assert d.dns_name_domain_error("vm1.other.org.", "") is None
    assert d.dns_name_domain_error("vm1", "example.org") is None
    assert d.dns_name_domain_error("vm1.example.org.", "example.org.") is None
    error = d.dns_name_domain_error("vm1.other.org.", "example.org")
    assert error.startswith("The dns_name passed is a FQDN. Its higher level labels must "
                            "be equal to the dns_domain option in neutron.conf, that has "
                            "been set to 'example.org'.")
    assert d.dns_name_domain_error("example.org.", "example.org") is not None
    assert "resulting length exceeds the maximum size of '255'" in d.dns_name_domain_error(
        "a" * 250, "example.org")


def test_dns_assignment() -> None:
    ips = [{"subnet_id": "s", "ip_address": "10.0.0.5"},
           {"subnet_id": "t", "ip_address": "fd00::5"}]
    assert d.dns_assignment(ips, "", "openstacklocal.") == [
        {"ip_address": "10.0.0.5", "hostname": "host-10-0-0-5",
         "fqdn": "host-10-0-0-5.openstacklocal."},
        {"ip_address": "fd00::5", "hostname": "host-fd00--5",
         "fqdn": "host-fd00--5.openstacklocal."}]
    assert d.dns_assignment(ips[:1], "vm1", "example.org.") == [
        {"ip_address": "10.0.0.5", "hostname": "vm1", "fqdn": "vm1.example.org."}]
    assert d.dns_assignment(ips[:1], "vm1.example.org.", "example.org.")[0]["fqdn"] == \
        "vm1.example.org."
    assert d.dns_assignment(ips[:1], "", "")[0]["fqdn"] == "host-10-0-0-5"


def test_floating_ip_names_are_relative() -> None:
    assert d.convert_fip_dns_name("Web") == "web"
    assert d.fip_dns_name_error("web.example.") == ("'web.example.' is a FQDN. It should "
                                                    "be a relative domain name")
    assert "must not start or end with a hyphen" in d.fip_dns_name_error("web-")
    assert "Adding a domain name will cause it to exceed" in d.fip_dns_name_error(
        ".".join(["a" * 63] * 4)[:253])
