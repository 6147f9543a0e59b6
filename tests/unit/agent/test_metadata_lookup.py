"""The metadata agent's pure decisions: who asks (the proxy's headers), what Nova is
told (headers, signature), which answers are instances, and the lookup cache."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from neutrino.agent.metadata import config as md_config
from neutrino.agent.metadata import lookup
from neutrino.agent.metadata.lookup import BadRequest, Instance, Source, TTLCache

NET = "6a1f1c1e-8a1b-4a7e-9d6c-5b0f0f0f0f01"
ROUTER = "0c0b7c8e-1111-4222-8333-944455556666"


def test_source_from_network_or_router_header() -> None:
    assert lookup.source_of({"X-Neutron-Network-ID": NET, "X-Forwarded-For": "10.0.0.5"}) \
        == Source("network", NET, "10.0.0.5")
    # Header names are case-insensitive; an IPv4-mapped address is the IPv4 address.
    assert lookup.source_of([("x-neutron-router-id", ROUTER.upper()),
                             ("x-forwarded-for", "::ffff:10.0.0.7")]) \
        == Source("router", ROUTER, "10.0.0.7")
    # A chain: the last hop (our proxy) is the one that saw the client.
    assert lookup.source_of({"X-Neutron-Network-ID": NET,
                             "X-Forwarded-For": "1.2.3.4, 10.0.0.9"}).address == "10.0.0.9"
    assert lookup.source_of({"X-Neutron-Network-ID": NET,
                             "X-Forwarded-For": "2001:DB8::0005"}).address == "2001:db8::5"


@pytest.mark.parametrize("headers", [
    {"X-Forwarded-For": "10.0.0.5"},                                   # no network/router
    {"X-Neutron-Network-ID": NET},                                     # no address
    {"X-Neutron-Network-ID": NET, "X-Forwarded-For": "not-an-ip"},
    {"X-Neutron-Network-ID": "abc", "X-Forwarded-For": "10.0.0.5"},   # not a UUID
    {"X-Neutron-Network-ID": NET, "X-Neutron-Router-ID": ROUTER,      # both
     "X-Forwarded-For": "10.0.0.5"},
])
def test_requests_not_from_our_proxy_are_bad(headers: dict) -> None:
    with pytest.raises(BadRequest):
        lookup.source_of(headers)


def test_signature_is_hmac_sha256_hex_of_the_instance_id() -> None:
    # The value Nova computes for the same secret and id (its documented algorithm).
    assert lookup.sign("8d3d5b62-07a0-4d51-bc1e-1d3e4e7ba7a3", "s3cr3t") == hmac.new(
        b"s3cr3t", b"8d3d5b62-07a0-4d51-bc1e-1d3e4e7ba7a3", hashlib.sha256).hexdigest()
    # Same as `echo -n i | openssl dgst -sha256 -hmac k`.
    assert lookup.sign("i", "k") == \
        "0ceac8835f87631f849f34fd2045c51cfddd172d7cd65122750c3f8ae0fb3494"
    assert lookup.sign("a", "k") != lookup.sign("b", "k")
    assert lookup.sign("a", "k") != lookup.sign("a", "other")
    assert len(lookup.sign("a", "")) == 64


def test_upstream_headers_replace_what_the_client_says_about_itself() -> None:
    instance = Instance("inst-1", "proj-1")
    source = Source("network", NET, "10.0.0.5")
    incoming = [("Host", "169.254.169.254"), ("Accept", "application/json"),
                ("X-Instance-ID", "someone-else"), ("X-Tenant-ID", "other-project"),
                ("X-Instance-ID-Signature", "forged"), ("X-Forwarded-For", "10.0.0.99"),
                ("X-Neutron-Network-ID", NET), ("Connection", "keep-alive"),
                ("User-Agent", "cloud-init")]
    out = lookup.upstream_headers(incoming, instance, source, "s3cr3t")
    assert out == [("Accept", "application/json"), ("User-Agent", "cloud-init"),
                   ("X-Forwarded-For", "10.0.0.5"), ("X-Instance-ID", "inst-1"),
                   ("X-Tenant-ID", "proj-1"),
                   ("X-Instance-ID-Signature", lookup.sign("inst-1", "s3cr3t"))]


def test_only_an_answer_with_a_device_id_is_an_instance() -> None:
    assert lookup.instance_from(None) is None
    assert lookup.instance_from({}) is None
    assert lookup.instance_from({"instance_id": "", "project_id": "p"}) is None
    found = lookup.instance_from({"instance_id": "i", "project_id": "p", "port": {}})
    assert (found.instance_id, found.project_id) == ("i", "p")
    assert found.details["port"] == {}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_cache_keeps_answers_and_unknowns_for_the_ttl() -> None:
    clock = Clock()
    cache = TTLCache(5, clock=clock)
    calls: list[str] = []

    def compute(value: object) -> object:
        def run() -> object:
            calls.append("x")
            return value
        return run
    assert cache.get("a", compute("A")) == "A"
    assert cache.get("a", compute("other")) == "A"          # cached
    assert cache.get("u", compute(None)) is None
    assert cache.get("u", compute("late")) is None          # unknown cached too
    clock.now += 5.1
    assert cache.get("a", compute("A2")) == "A2"            # expired
    assert len(calls) == 3


def test_cache_failures_are_not_kept_and_ttl_zero_caches_nothing() -> None:
    cache = TTLCache(5, clock=Clock())

    def boom() -> object:
        raise TimeoutError
    with pytest.raises(TimeoutError):
        cache.get("a", boom)
    assert cache.get("a", lambda: "A") == "A"
    none = TTLCache(0)
    assert none.get("a", lambda: 1) == 1 and none.get("a", lambda: 2) == 2


def test_cache_is_bounded() -> None:
    clock = Clock()
    cache = TTLCache(60, max_entries=3, clock=clock)
    for key in "abcd":
        cache.get(key, lambda key=key: key)
    assert len(cache._entries) == 3
    assert cache.get("a", lambda: "recomputed") == "recomputed"  # the oldest went


def test_cache_url() -> None:
    assert md_config.cache_ttl("memory://?default_ttl=5") == 5
    assert md_config.cache_ttl("memory://?default_ttl=0.5&x=1") == 0.5
    assert md_config.cache_ttl("") == 0
    assert md_config.cache_ttl("memory://") == 0
    with pytest.raises(ValueError):
        md_config.cache_ttl("memcache://10.0.0.1")
