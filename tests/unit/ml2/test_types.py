"""ML2 ranges, MTU maths and provider segment validation (no database)."""

from __future__ import annotations

import pytest

from neutrino import conf as conf_mod
from neutrino import exceptions as exc
from neutrino.ml2 import config as mc
from neutrino.ml2 import types as t
from neutrino.ml2.manager import TypeManager


def make_conf(text: str = "", tmp_path=None):
    if not text:
        return conf_mod.new_conf()
    path = tmp_path / "n.conf"
    path.write_text(text)
    return conf_mod.new_conf(["--config-file", str(path)])


# -- ranges -------------------------------------------------------------------

def test_tunnel_ranges() -> None:
    assert mc.parse_tunnel_ranges(["1:1000", " 2000:2001 ", ""], "vxlan") == [
        (1, 1000), (2000, 2001)]
    assert mc.parse_tunnel_ranges([], "gre") == []
    assert mc.ids_in([(1, 3), (7, 7)]) == {1, 2, 3, 7}


@pytest.mark.parametrize("entry,reason", [
    ("5", "expected <min>:<max>"),
    ("1:x", "'x' is not an integer"),
    ("0:10", "0 is not a valid vxlan identifier"),
    (f"1:{2**24}", f"{2**24} is not a valid vxlan identifier"),
    ("10:5", "End of tunnel range is less than start of tunnel range"),
])
def test_bad_tunnel_ranges(entry: str, reason: str) -> None:
    with pytest.raises(mc.RangeError, match=reason):
        mc.parse_tunnel_ranges([entry], "vxlan")


def test_gre_ids_go_to_32_bits() -> None:
    assert mc.parse_tunnel_ranges([f"1:{2**32 - 1}"], "gre") == [(1, 2**32 - 1)]


def test_vlan_ranges() -> None:
    assert mc.parse_vlan_ranges(["physnet1:100:110", "physnet2", "physnet1:200:200"]) == {
        "physnet1": [(100, 110), (200, 200)], "physnet2": []}


@pytest.mark.parametrize("entry", ["physnet1:1", ":1:2", "p:0:10", "p:1:4095", "p:10:5",
                                   "p:a:b"])
def test_bad_vlan_ranges(entry: str) -> None:
    with pytest.raises(mc.RangeError):
        mc.parse_vlan_ranges([entry])


# -- MTU ------------------------------------------------------------------------

def test_default_mtus() -> None:
    manager = TypeManager(make_conf())
    mtus = {name: d.get_mtu(None) for name, d in manager.drivers.items()}
    assert mtus == {"local": 1500, "flat": 1500, "vlan": 1500, "vxlan": 1450,
                    "gre": 1458, "geneve": 1450}


def test_path_mtu_and_geneve_header(tmp_path) -> None:
    conf = make_conf("[DEFAULT]\nglobal_physnet_mtu = 9000\n[ml2]\npath_mtu = 1600\n"
                     "[ml2_type_geneve]\nmax_header_size = 38\n", tmp_path)
    manager = TypeManager(conf)
    assert manager.drivers["vxlan"].get_mtu() == 1550
    assert manager.drivers["geneve"].get_mtu() == 1600 - 58
    assert manager.drivers["vlan"].get_mtu("physnet1") == 9000
    # A network's MTU: the smallest of its segments'.
    assert manager.segments_mtu([t.segment("vlan", "p", 5), t.segment("vxlan", None, 9)]
                                ) == 1550
    assert manager.segments_mtu([]) == 9000


# -- validation -----------------------------------------------------------------

@pytest.mark.parametrize("seg,text", [
    (t.segment("flat"), "physical_network required for flat provider network"),
    (t.segment("flat", "p", 5), "segmentation_id prohibited for flat provider network"),
    (t.segment("local", "p"), "physical_network prohibited for local provider network"),
    (t.segment("vxlan", "p"), "provider:physical_network specified for vxlan network"),
    (t.segment("vxlan", None, 2**24), "is not a valid vxlan identifier"),
    (t.segment("vlan", "nope", 5), "physical_network 'nope' unknown for VLAN provider"),
    (t.segment("vlan", None, 5), "segmentation_id requires physical_network"),
])
def test_invalid_provider_segments(tmp_path, seg: dict, text: str) -> None:
    manager = TypeManager(make_conf("[ml2_type_vlan]\nnetwork_vlan_ranges = physnet1\n",
                                    tmp_path))
    with pytest.raises(exc.InvalidInput) as info:
        manager.driver(seg["network_type"]).validate_provider_segment(seg)
    assert text in str(info.value)


def test_vlan_id_range(tmp_path) -> None:
    manager = TypeManager(make_conf("[ml2_type_vlan]\nnetwork_vlan_ranges = physnet1\n",
                                    tmp_path))
    driver = manager.driver("vlan")
    driver.validate_provider_segment(t.segment("vlan", "physnet1", 4094))
    with pytest.raises(exc.InvalidInput, match=r"out of range \(1 through 4094\)"):
        driver.validate_provider_segment(t.segment("vlan", "physnet1", 4095))


def test_flat_networks_restricted(tmp_path) -> None:
    manager = TypeManager(make_conf("[ml2_type_flat]\nflat_networks = ext\n", tmp_path))
    manager.driver("flat").validate_provider_segment(t.segment("flat", "ext"))
    with pytest.raises(exc.InvalidInput, match="'other' unknown for flat"):
        manager.driver("flat").validate_provider_segment(t.segment("flat", "other"))
    disabled = TypeManager(make_conf("[ml2_type_flat]\nflat_networks =\n", tmp_path))
    with pytest.raises(exc.InvalidInput, match="Flat provider networks are disabled"):
        disabled.driver("flat").validate_provider_segment(t.segment("flat", "ext"))


def test_unknown_and_missing_types(tmp_path) -> None:
    manager = TypeManager(make_conf("[ml2]\ntype_drivers = local,flat,vlan,vxlan\n",
                                    tmp_path))
    with pytest.raises(exc.InvalidInput, match="network_type value 'gre' not supported"):
        manager.driver("gre")
    with pytest.raises(exc.InvalidInput, match="network_type required"):
        manager.driver(None)


def test_bad_config_is_refused_at_start(tmp_path) -> None:
    with pytest.raises(ValueError, match="unknown network type 'bogus'"):
        TypeManager(make_conf("[ml2]\ntype_drivers = vxlan,bogus\n", tmp_path))
    with pytest.raises(ValueError, match="'gre' is not in type_drivers"):
        TypeManager(make_conf("[ml2]\ntype_drivers = vxlan\ntenant_network_types = gre\n",
                              tmp_path))
    with pytest.raises(mc.RangeError):
        TypeManager(make_conf("[ml2_type_vxlan]\nvni_ranges = 5:1\n", tmp_path))
