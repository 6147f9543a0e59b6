"""The whole Linux bridge agent (loop, bus, device events, reconciler) in a host
namespace, against a stand-in server on the in-process bus that answers
get_desired_state with hand-written states and records device up/down and state
reports. (tests/dataplane/test_linuxbridge_e2e.py runs it against the real server.)"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Iterator

import oslo_messaging
import pytest

from dataplane.test_linuxbridge_vxlan import UNDERLAY_IPS, VNI, desired, peer, port
from dataplane.topology import Topology, random_mac, wait_for
from neutrino.agent.common.privileged import ZERO_MAC, FdbEntry, Kernel
from neutrino.agent.linuxbridge import config as lb_config
from neutrino.agent.linuxbridge.agent import LinuxBridgeAgent
from neutrino.contract import bus as transport
from neutrino.contract import topics


class StandInServer:
    """q-plugin and q-reports-plugin endpoints with canned answers."""

    target = oslo_messaging.Target(version="1.0")

    def __init__(self) -> None:
        self.state: dict = {}
        self.calls: list[tuple[str, dict]] = []
        self.lock = threading.Lock()

    def _record(self, method: str, kwargs: dict) -> None:
        with self.lock:
            self.calls.append((method, kwargs))

    def get_desired_state(self, context: object, host: str, kind: str) -> dict:
        self._record("get_desired_state", {"host": host, "kind": kind})
        return copy.deepcopy(self.state)

    def get_devices_details_list(self, context: object, **kwargs: object) -> list[dict]:
        self._record("get_devices_details_list", kwargs)
        ports = {p["device"]: p for p in self.state.get("ports", [])}
        return [{"device": d, "port_id": ports[d]["id"]} if d in ports else {"device": d}
                for d in kwargs["devices"]]

    def update_device_up(self, context: object, **kwargs: object) -> None:
        self._record("update_device_up", kwargs)

    def update_device_down(self, context: object, **kwargs: object) -> dict:
        self._record("update_device_down", kwargs)
        return {"device": kwargs["device"], "exists": True}

    def report_state(self, context: object, **kwargs: object) -> str:
        self._record("report_state", kwargs["agent_state"]["agent_state"])
        return "alive"

    def called(self, method: str) -> list[dict]:
        with self.lock:
            return [kwargs for name, kwargs in self.calls if name == method]


@pytest.fixture
def bus() -> Iterator[tuple[object, StandInServer]]:
    conf = lb_config_conf()
    rpc_transport = transport.get_transport(conf)
    stand_in = StandInServer()
    servers = []
    for topic in (topics.PLUGIN, topics.REPORTS):
        server = oslo_messaging.get_rpc_server(
            rpc_transport, oslo_messaging.Target(topic=topic, server="stand-in"),
            [stand_in])
        server.start()
        servers.append(server)
    try:
        yield rpc_transport, stand_in
    finally:
        for server in servers:
            server.stop()
            server.wait()
        rpc_transport.cleanup()


def lb_config_conf(**overrides: dict[str, object]):
    from oslo_config import cfg
    conf = cfg.ConfigOpts()
    lb_config.register_opts(conf)
    conf(args=[])
    conf.set_override("transport_url", "fake://")
    for group, values in overrides.items():
        for name, value in values.items():
            conf.set_override(name, value, group=None if group == "DEFAULT" else group)
    return conf


def test_agent_follows_device_events_and_notifications(topo: Topology, bus) -> None:
    rpc_transport, stand_in = bus
    host_a, host_b = topo.hosts(*UNDERLAY_IPS[:2])
    net = str(uuid.uuid4())
    p1 = port(net, random_mac(), "203.0.113.41")
    p2 = port(net, random_mac(), "203.0.113.42")
    stand_in.state = desired("a", [p1], net, [peer("b", UNDERLAY_IPS[1], p2)])
    conf = lb_config_conf(
        DEFAULT={"host": "host-a-" + net[:6]},
        vxlan={"local_ip": UNDERLAY_IPS[0]},
        AGENT={"polling_interval": 0.1, "report_interval": 0.2, "resync_interval": 600})
    agent = LinuxBridgeAgent(conf, transport=rpc_transport, namespace=host_a).start()
    try:
        # Started: a full sync (nothing to plug yet: the VM is not there) and a
        # first state report with start_flag.
        assert wait_for(lambda: stand_in.called("get_desired_state"))
        assert stand_in.called("get_desired_state")[0] == {"host": conf.host, "kind": "l2"}
        assert wait_for(lambda: stand_in.called("report_state"))
        first = stand_in.called("report_state")[0]
        assert first["start_flag"] is True and first["agent_type"] == "Linux bridge agent"
        assert first["configurations"]["tunnel_types"] == ["vxlan"]
        assert not stand_in.called("update_device_up")

        # The hypervisor plugs the VM: the tap appearing (netlink) makes the
        # agent sync at once (the periodic resync is 10 minutes away).
        vm1 = topo.vm(host_a, p1["id"], p1["mac_address"], "203.0.113.41/24")
        assert wait_for(lambda: stand_in.called("update_device_up"))
        # Asked for the device's details first (upstream's order: it lets the
        # server retry a failed binding).
        assert stand_in.called("get_devices_details_list")[0]["devices"] == [p1["device"]]
        assert stand_in.called("update_device_up")[0] == {
            "device": p1["device"], "agent_id": f"lb-{conf.host}", "host": conf.host}
        assert wait_for(lambda: any(r["configurations"]["devices"] == 1
                                    for r in stand_in.called("report_state")))

        # The server says something changed (a port of host b moved): one fanout
        # message makes the agent ask again and converge.
        p3 = port(net, random_mac(), "203.0.113.43")
        stand_in.state = desired("a", [dict(p1, status="ACTIVE")], net,
                                 [peer("b", UNDERLAY_IPS[1], p3)])
        notifier = oslo_messaging.get_rpc_client(
            rpc_transport, oslo_messaging.Target(topic=topics.PORT_UPDATE, fanout=True))
        notifier.cast({}, "port_update", port={"id": p3["id"], "network_id": net})
        expected = {FdbEntry(ZERO_MAC, UNDERLAY_IPS[1]),
                    FdbEntry(p3["mac_address"], UNDERLAY_IPS[1])}
        with Kernel(host_a) as kernel:
            assert wait_for(lambda: kernel.remote_fdb(f"vxlan-{VNI}") == expected)

        # The VM goes away: its tap disappearing is reported down at once.
        topo.cleanup_one(vm1)
        assert wait_for(lambda: stand_in.called("update_device_down"))
        assert stand_in.called("update_device_down")[0]["device"] == p1["device"]
    finally:
        agent.stop()
