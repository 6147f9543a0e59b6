"""The Linux bridge trunk driver's plan (pure; this kernel has no 8021q, so the
kernel side is checked by the exact ``ip`` commands and a recording kernel)."""

from __future__ import annotations

from neutrino.agent.common.privileged import Link, Snapshot, Vlan, vlan_link_command
from neutrino.agent.linuxbridge import plan as p
from neutrino.agent.linuxbridge import trunk
from neutrino.agent.linuxbridge.reconciler import Reconciler

NET, NET2 = "11111111-2222-3333-4444-555555555555", "99999999-2222-3333-4444-555555555555"
PARENT, SUB = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "cccccccc-bbbb-cccc-dddd-eeeeeeeeeeee"
SUB2 = "dddddddd-bbbb-cccc-dddd-eeeeeeeeeeee"
TAP, SUBTAP, SUBTAP2 = "tapaaaaaaaa-bb", "tapcccccccc-bb", "tapdddddddd-bb"
BR, BR2 = "brq11111111-22", "brq99999999-22"


def subport(port_id: str, vid: int, mac: str = "FA:16:3E:00:00:0C") -> dict:
    return {"port_id": port_id, "device": "tap" + port_id[:11],
            "segmentation_type": "vlan", "segmentation_id": vid, "mac_address": mac}


def port(port_id: str, net_id: str, **extra: object) -> dict:
    return {"id": port_id, "device": "tap" + port_id[:11], "network_id": net_id,
            "mac_address": "fa:16:3e:00:00:01", "admin_state_up": True,
            "status": "DOWN", **extra}


def network(net_id: str) -> dict:
    return {"id": net_id, "mtu": 1450, "network_type": "local", "physical_network": None,
            "segmentation_id": None, "peers": []}


def desired(*subports: dict) -> dict:
    parent = port(PARENT, NET, trunk={"trunk_id": "t1", "admin_state_up": True,
                                      "sub_ports": list(subports)})
    return {"host": "h1", "ports": [parent, *[port(s["port_id"], NET2) for s in subports]],
            "networks": [network(NET), network(NET2)], "security_groups": {},
            "remote_groups": {}, "address_groups": {}}


def link(name: str, kind: str | None = "veth", master: str | None = None,
         vlan: Vlan | None = None) -> Link:
    return Link(name, 1, kind, master, 1450, True, "fa:16:3e:00:00:0c", None, vlan)


def test_wanted_sub_interfaces() -> None:
    want = trunk.wanted(desired(subport(SUB, 101), subport(SUB2, 102)))
    assert want == {
        SUBTAP: trunk.VlanSpec(SUBTAP, TAP, 101, "fa:16:3e:00:00:0c", SUB),
        SUBTAP2: trunk.VlanSpec(SUBTAP2, TAP, 102, "fa:16:3e:00:00:0c", SUB2)}
    # no trunk on the port (or a server before trunks): nothing
    assert trunk.wanted({"ports": [port(PARENT, NET)]}) == {}  # type: ignore[typeddict-item]


def test_the_exact_ip_commands() -> None:
    assert vlan_link_command(SUBTAP, TAP, 101, "fa:16:3e:00:00:0c") == [
        "ip", "link", "add", "link", TAP, "name", SUBTAP, "address", "fa:16:3e:00:00:0c",
        "type", "vlan", "protocol", "802.1Q", "id", "101"]
    want = trunk.wanted(desired(subport(SUB, 101)))
    stale = link("tapeeeeeeee-bb", "vlan", vlan=Vlan(TAP, 7))
    actions = trunk.plan_vlans(want, {TAP: link(TAP, master=BR), stale.name: stale})
    assert trunk.render(actions) == [
        ["ip", "link", "delete", "tapeeeeeeee-bb"],
        ["ip", "link", "add", "link", TAP, "name", SUBTAP, "address", "fa:16:3e:00:00:0c",
         "type", "vlan", "protocol", "802.1Q", "id", "101"]]


def test_plan_only_the_difference() -> None:
    want = trunk.wanted(desired(subport(SUB, 101)))
    parent = link(TAP, master=BR)
    good = link(SUBTAP, "vlan", BR2, Vlan(TAP, 101))
    assert trunk.plan_vlans(want, {TAP: parent, SUBTAP: good}) == []
    # parent tap not plugged yet: nothing (its appearance resyncs)
    assert trunk.plan_vlans(want, {}) == []
    # wrong VLAN id or parent: rebuilt
    for wrong in (Vlan(TAP, 102), Vlan("tapffffffff-bb", 101)):
        actions = trunk.plan_vlans(want, {TAP: parent, SUBTAP: link(SUBTAP, "vlan",
                                                                    vlan=wrong)})
        assert [a.op for a in actions] == ["delete", "add_vlan"]
    # removed from the trunk: deleted
    assert [str(a) for a in trunk.plan_vlans({}, {TAP: parent, SUBTAP: good})] == [
        f"delete {SUBTAP}"]


def test_never_touches_what_is_not_ours() -> None:
    foreign = {"eth0.5": link("eth0.5", "vlan", vlan=Vlan("eth0", 5)),
               "tapxxxxxxxx-yy": link("tapxxxxxxxx-yy", "vlan", vlan=Vlan("eth0", 9)),
               "vlan7": link("vlan7", "vlan", vlan=Vlan(TAP, 7)),
               TAP: link(TAP, master=BR)}
    assert trunk.plan_vlans({}, foreign) == []


class RecordingKernel:
    """A stand-in for privileged.Kernel: VLAN sub-interfaces cannot be made on this
    kernel (no 8021q), so the reconciler's calls are recorded and their effect
    simulated on the links it reports."""

    def __init__(self, links: dict[str, Link]) -> None:
        self._links = dict(links)
        self.calls: list[str] = []

    def snapshot(self) -> Snapshot:
        return Snapshot(dict(self._links), {})

    def links(self) -> dict[str, Link]:
        return dict(self._links)

    def add_vlan(self, name: str, parent: str, vlan_id: int, mac: str) -> None:
        self.calls.append(" ".join(vlan_link_command(name, parent, vlan_id, mac)))
        self._links[name] = Link(name, 9, "vlan", None, 1500, False, mac, None,
                                 Vlan(parent, vlan_id))

    def set_link(self, name: str, *, master: str | None = None, mtu: int | None = None,
                 up: bool | None = None, **_: object) -> None:
        self.calls.append(f"set {name} master={master} mtu={mtu} up={up}")
        old = self._links[name]
        self._links[name] = Link(name, old.index, old.kind, master or old.master,
                                 mtu or old.mtu, old.up if up is None else up, old.mac,
                                 None, old.vlan)

    def set_links(self, changes: list[tuple[str, dict[str, object]]]) -> list[str | None]:
        for name, kwargs in changes:  # Kernel's does them in one ip batch
            self.set_link(name, **kwargs)  # type: ignore[arg-type]
        return [None] * len(changes)

    def add_bridge(self, name: str) -> None:
        self.calls.append(f"add_bridge {name}")
        self._links[name] = Link(name, 3, "bridge", None, 1500, False, None)

    def delete(self, name: str) -> None:
        self.calls.append(f"delete {name}")
        self._links.pop(name, None)


def test_reconciler_makes_then_plugs_the_sub_interface() -> None:
    kernel = RecordingKernel({TAP: link(TAP)})
    settings = p.Settings(trunk_supported=True)
    result = Reconciler(kernel, settings).reconcile(desired(subport(SUB, 101)))  # type: ignore[arg-type]
    assert kernel.calls[0] == (f"ip link add link {TAP} name {SUBTAP} address "
                               "fa:16:3e:00:00:0c type vlan protocol 802.1Q id 101")
    # then the ordinary plan plugs it into the sub-port network's bridge
    assert kernel.links()[SUBTAP].master == BR2 and kernel.links()[SUBTAP].up
    assert kernel.links()[TAP].master == BR
    assert result.failed == []
    # converged: nothing more
    kernel.calls.clear()
    Reconciler(kernel, settings).reconcile(desired(subport(SUB, 101)))  # type: ignore[arg-type]
    assert kernel.calls == []


def test_no_vlan_support_no_sub_interfaces() -> None:
    kernel = RecordingKernel({TAP: link(TAP)})
    Reconciler(kernel, p.Settings()).reconcile(desired(subport(SUB, 101)))  # type: ignore[arg-type]
    assert not any("vlan" in c for c in kernel.calls)
    assert SUBTAP not in kernel.links()
