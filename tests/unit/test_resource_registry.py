"""Resources composed once from the features' declarations, frozen, and the extension
list derived from the same declarations (issue 11)."""

from __future__ import annotations

import json
import subprocess
import sys
from types import MappingProxyType

import pytest

from neutrino.api.extensions import BY_ALIAS, EXTENSIONS
from neutrino.resources import REGISTRY
from neutrino.resources.attributes import Attr, FrozenResourceError
from neutrino.resources.catalog import CATALOG
from neutrino.resources.feature import Extension, Feature
from neutrino.resources.network import NETWORK
from neutrino.resources.port import PORT
from neutrino.resources.registry import compose
from neutrino.resources.subnet import SUBNET

# Prints, after importing argv[1] first and then the whole server, every resource
# this package defines (attribute names in order, and their flags) and the
# extension list: what the API serves, in the order it serves it.
DUMP = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
import neutrino.api.app  # the whole server
from neutrino.api.extensions import EXTENSIONS
from neutrino.resources.attributes import Resource
resources = {}
for name, module in sorted(sys.modules.items()):
    if name.startswith("neutrino.resources."):
        for value in vars(module).values():
            if isinstance(value, Resource):
                resources[value.collection] = [
                    [a.name, a.allow_post, a.allow_put, a.visible, a.filterable,
                     a.sortable, a.enforce_policy] for a in value.attrs.values()]
print(json.dumps({"resources": resources,
                  "extensions": [e.to_dict() for e in EXTENSIONS]}))
"""

# Server modules that import resources in different orders.
FIRST_IMPORTS = [
    "neutrino.resources.dns",
    "neutrino.resources.port",
    "neutrino.resources.segment",
    "neutrino.resources.attributes",
    "neutrino.rpc.agent_endpoints",
    "neutrino.services.ports",
    "neutrino.api.app",
]


def test_composition_is_the_same_whatever_is_imported_first() -> None:
    runs = {module: subprocess.Popen([sys.executable, "-c", DUMP, module],
                                     stdout=subprocess.PIPE, text=True)
            for module in FIRST_IMPORTS}
    dumps = {}
    for module, proc in runs.items():
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, module
        dumps[module] = json.loads(out)
    reference = dumps["neutrino.api.app"]
    assert {"networks", "ports", "subnets", "floatingips"} <= set(reference["resources"])
    for module, dump in dumps.items():
        for collection, attrs in reference["resources"].items():
            assert dump["resources"][collection] == attrs, (module, collection)
        assert dump == reference, module


def test_response_key_order() -> None:
    """Base attributes first, then the features' in catalog order: the key order of
    the API's responses."""
    assert list(NETWORK.attrs) == [
        "id", "name", "description", "project_id", "tenant_id", "tags", "created_at",
        "updated_at", "revision_number", "admin_state_up", "status", "subnets", "shared",
        "mtu", "router:external", "is_default", "provider:network_type",
        "provider:physical_network", "provider:segmentation_id", "segments",
        "dns_domain", "ipv4_address_scope", "ipv6_address_scope",
        "port_security_enabled", "availability_zone_hints", "availability_zones",
        "ha", "qos_policy_id"]  # ha: accepted on create, never shown (network_ha)
    assert list(PORT.attrs) == [
        "id", "name", "description", "project_id", "tenant_id", "tags", "created_at",
        "updated_at", "revision_number", "network_id", "admin_state_up", "mac_address",
        "fixed_ips", "device_id", "device_owner", "status", "propagate_uplink_status",
        "device_profile", "trusted", "numa_affinity_policy", "binding:host_id",
        "binding:vnic_type",
        "binding:profile", "binding:vif_type", "binding:vif_details", "dns_name",
        "dns_domain", "dns_assignment", "allowed_address_pairs", "port_security_enabled",
        "extra_dhcp_opts", "security_groups", "qos_policy_id", "qos_network_policy_id",
        "trunk_details"]
    assert list(SUBNET.attrs)[-2:] == ["use_default_subnetpool", "segment_id"]
    assert list(REGISTRY.resource("floatingips").attrs)[-5:] == [
        "port_details", "dns_name", "dns_domain", "port_forwardings", "qos_policy_id"]


def test_resources_are_frozen() -> None:
    before = list(PORT.attrs)
    with pytest.raises(FrozenResourceError):
        PORT.add(Attr("color"))
    with pytest.raises(TypeError):
        PORT.attrs["color"] = Attr("color")  # type: ignore[index]
    assert list(PORT.attrs) == before
    assert all(r.frozen and isinstance(r.attrs, MappingProxyType)
               for r in REGISTRY.resources.values())
    # The names the code base imports are the registry's composed objects.
    assert REGISTRY.resource("ports") is PORT
    assert REGISTRY.resource("networks") is NETWORK


def test_extension_list_is_the_declarations() -> None:
    declared = [e for f in CATALOG for e in f.extensions]
    assert len(EXTENSIONS) == len(declared) == len(BY_ALIAS)
    assert set(EXTENSIONS) == set(declared)
    assert EXTENSIONS == list(REGISTRY.extensions)
    assert all(BY_ALIAS[e.alias] is e for e in EXTENSIONS)
    # Listed by alias; a feature's aliases together (quotas, then quota_details).
    aliases = [e.alias for e in EXTENSIONS]
    assert aliases.index("quota_details") == aliases.index("quotas") + 1
    firsts = [a for a in aliases if a != "quota_details"]
    assert firsts == sorted(firsts)
    # API behaviours without attributes have their alias too.
    assert {"sorting", "pagination", "filter-validation",
            "standard-attr-timestamp"} <= set(BY_ALIAS)


def test_every_addition_targets_a_catalog_resource() -> None:
    for feature in CATALOG:
        assert set(feature.adds) <= set(REGISTRY.resources), feature.key


def test_feature_left_out_removes_its_attributes_and_alias() -> None:
    smaller = REGISTRY.without("port-security")
    for collection in ("ports", "networks"):
        attrs = list(smaller.resource(collection).attrs)
        assert "port_security_enabled" not in attrs
        assert attrs == [a for a in REGISTRY.resource(collection).attrs
                         if a != "port_security_enabled"]
    assert "port-security" not in smaller.by_alias
    assert [e.alias for e in smaller.extensions] == [
        e.alias for e in REGISTRY.extensions if e.alias != "port-security"]
    # The server's resources are untouched, and the copies are frozen too.
    assert "port_security_enabled" in PORT.attrs
    assert smaller.resource("ports") is not PORT
    with pytest.raises(FrozenResourceError):
        smaller.resource("ports").add(Attr("color"))


def test_feature_with_resources_left_out() -> None:
    """Leaving out router removes routers and floating IPs (and dns has nothing to
    add to floating IPs); everything else is as before."""
    smaller = REGISTRY.without("router")
    assert "routers" not in smaller.resources and "floatingips" not in smaller.resources
    assert "router" not in smaller.by_alias
    assert list(smaller.resource("ports").attrs) == list(PORT.attrs)


def test_conflicting_declarations_are_refused() -> None:
    twice = Feature("twice", (Extension("port-security", "x", "x", "x"),))
    with pytest.raises(ValueError, match="alias declared twice"):
        compose((*CATALOG, twice))
    clash = Feature("clash", adds={"ports": (Attr("device_id"),)})
    with pytest.raises(ValueError, match="redeclares"):
        compose((*CATALOG, clash))
    with pytest.raises(ValueError, match="no such features"):
        REGISTRY.without("nosuch")


def test_rbac_object_types_match_the_services_registrations() -> None:
    from neutrino.resources.rbac_policy import OBJECT_TYPES
    from neutrino.services import rbac
    assert set(OBJECT_TYPES) == set(rbac.OBJECT_TYPES)
