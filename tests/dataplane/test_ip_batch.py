"""Kernel.set_links against a real namespace: many link changes in one
`ip -force -batch`, each change's failure reported on its own, none hiding the
others -- also when ip stops early (a master that does not exist)."""

from __future__ import annotations

from dataplane.topology import Topology
from neutrino.agent.common.privileged import Kernel


def test_set_links_reports_each_failure_and_does_the_rest(topo: Topology) -> None:
    host = topo.namespace("batch")
    with Kernel(host) as kernel:
        kernel.add_bridge("brqb")
        for i in range(4):
            kernel.add_veth(f"tapb{i}", f"peerb{i}")
        errors = kernel.set_links([
            ("tapb0", {"master": "brqb", "mtu": 1400}),
            ("tapb0", {"up": True}),
            ("nosuch", {"up": True}),  # fails: only this one
            ("tapb1", {"master": "brqb"}),
            ("tapb2", {"master": "nosuchbr"}),  # ip exits here despite -force
            ("tapb3", {"master": "brqb"}),  # so this one is done one by one
            ("tapb3", {"up": True}),
            ("tap bad", {"up": True}),  # never sent
        ])
        links = kernel.links()
    assert [e is None for e in errors] == [True, True, False, True, False, True, True,
                                          False]
    assert "nosuch" in str(errors[2])
    assert links["tapb0"].master == "brqb" and links["tapb0"].mtu == 1400
    assert links["tapb0"].up
    assert links["tapb1"].master == "brqb"
    assert links["tapb2"].master is None
    assert links["tapb3"].master == "brqb" and links["tapb3"].up
