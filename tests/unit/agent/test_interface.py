"""The interface drivers' shared parts (agent/common/interface.py): which taps of
an agent leave the bridge, the option checks."""

from __future__ import annotations

from neutrino.agent.common import interface


def test_stale_taps() -> None:
    owned = {"tap-a1": "r1", "tap-a2": "r1", "tap-b1": "r2", "tap-c1": "r3",
             "tap-moved": "r1"}
    wanted = {"tap-a1": "r1", "tap-b1": "r2", "tap-moved": "r4"}
    # r1's second tap is no longer wanted; r3 is gone but failed this pass (its
    # taps stay); a tap marked for another router than the one wanting it is not
    # this router's (the reconciler re-plugs, and so re-marks, before the sweep).
    assert interface.stale(owned, wanted, failed={"r3"}) == ["tap-a2", "tap-moved"]
    assert interface.stale(owned, wanted, failed=set()) == ["tap-a2", "tap-c1", "tap-moved"]
    assert interface.stale({}, wanted, set()) == []


def test_driver_names() -> None:
    for name in ("linuxbridge", "openvswitch",
                 "neutron.agent.linux.interface.BridgeInterfaceDriver",
                 "neutron.agent.linux.interface.OVSInterfaceDriver"):
        assert interface.check(name) == []
    assert interface.check("ivs") == [
        "interface_driver 'ivs' is not supported: use 'linuxbridge' or 'openvswitch'"]
