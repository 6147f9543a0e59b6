"""Metadata on a routed network, end to end (root): a real server (RabbitMQ), the
Linux bridge agent (with its firewall), the L3 agent with its real metadata proxies
and the metadata agent (built-in upstream), for one host namespace (l3_world.py).
The VMs' subnet has a router interface as its gateway, so the DHCP agent's isolated
metadata would not serve it (and no DHCP agent runs): 169.254.169.254 is reached
through the VM's default route, the router's NAT redirect and the proxy in the
``qrouter-`` namespace, which speaks for the router.

* each VM reads ITS OWN instance id (the port's device_id) from
  ``/openstack/latest/meta_data.json``;
* a VM using another VM's address, or nobody's, gets nothing of the other instance:
  the firewall drops the spoofed packets (no answer), and where port security is
  off the agent answers 404;
* the router deleted, its proxy goes with its namespace.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator

import pytest
from oslo_config import cfg

from dataplane.l3_world import L3World, l3_world
from dataplane.test_dhcp_agent import agent_conf
from dataplane.test_linuxbridge_e2e import vif
from dataplane.test_metadata import fetch
from dataplane.topology import wait_for
from neutrino.agent.l3 import config as l3_config
from neutrino.agent.metadata import config as md_config
from neutrino.agent.metadata.agent import MetadataAgent
from neutrino.agent.metadata.proxies import MetadataProxies
from server import Api, ServerProcess

CIDR = "10.88.0.0/24"
NOBODY = "10.88.0.99"  # in the subnet, no port has it


@pytest.fixture(scope="module")
def socket_dir() -> Iterator[str]:
    path = tempfile.mkdtemp(prefix="neutrino-l3md-")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def world(server: ServerProcess, socket_dir: str) -> Iterator[L3World]:
    socket = os.path.join(socket_dir, "metadata.sock")
    with l3_world(server, metadata_proxy_socket=socket) as made:
        conf = _metadata_conf(made, socket)
        agent = MetadataAgent(conf, transport=made.rpc, server=server.rpc_name).start()
        try:
            yield made
        finally:
            agent.stop()


def _metadata_conf(world: L3World, socket: str) -> cfg.ConfigOpts:
    return agent_conf(md_config.register_opts, world.name, metadata_proxy_socket=socket,
                      metadata_upstream=md_config.BUILTIN)


def vm(world: L3World, api: Api, net: dict, group: str | None, **port: object
       ) -> tuple[dict, str]:
    """A VM port (an instance's: compute owner, its own device_id) plugged."""
    groups = {"security_groups": [group]} if group else {
        "port_security_enabled": False, "security_groups": []}
    made = api.port(net["id"], device_owner="compute:nova",
                    device_id=str(uuid.uuid4()), **groups, **port)
    namespace = f"{world.topo.prefix}vm-{made['id'][:6]}"
    world.topo.namespaces.append(namespace)
    vif("plug", made["id"], "--url", world.server.url, "--host", world.name,
        "--host-netns", world.host, "--netns", namespace)
    return made, namespace


def use_address(namespace: str, address: str, gateway: str) -> None:
    """The guest takes `address` (and its default route again)."""
    for args in (("addr", "flush", "dev", "eth0"),
                 ("addr", "add", f"{address}/24", "dev", "eth0"),
                 ("route", "replace", "default", "via", gateway)):
        subprocess.run(["ip", "netns", "exec", namespace, "ip", *args], check=True,
                       capture_output=True, timeout=30)


def test_vms_on_a_routed_network_get_their_own_metadata(world: L3World) -> None:
    assert wait_for(lambda: "Metadata agent" in {
        a["agent_type"] for a in world.api.get("agents").json()["agents"]
        if a["host"] == world.name and a["alive"]}, 30)
    api = world.project()
    net, subnet = world.network(api, CIDR)
    router = world.router(api, subnet)
    group = world.open_group(api)
    port_a, vm_a = vm(world, api, net, group)
    port_b, vm_b = vm(world, api, net, group)
    port_c, vm_c = vm(world, api, net, None)  # port security off
    gateway = subnet["gateway_ip"]
    ip_a, ip_b, ip_c = (p["fixed_ips"][0]["ip_address"] for p in (port_a, port_b, port_c))
    assert wait_for(lambda: all(world.status("port", p["id"]) == "ACTIVE"
                                for p in (port_a, port_b, port_c,
                                          *world.router_ports(router["id"]))), 60)
    namespace = world.namespace_of(router)
    proxies = MetadataProxies(l3_config.metadata_proxy_dir(world.l3.conf), "-")
    assert wait_for(lambda: proxies.running(namespace) is not None, 30)

    # Each VM reads its own instance.
    for namespace_vm, port in ((vm_a, port_a), (vm_b, port_b), (vm_c, port_c)):
        status, body = fetch(namespace_vm, "/openstack/latest/meta_data.json")
        assert status == 200, body
        meta = json.loads(body)
        assert meta["uuid"] == port["device_id"]
        assert meta["project_id"] == port["project_id"]
    assert fetch(vm_a, "/latest/meta-data/local-ipv4") == (200, ip_a)

    # Spoofing: B with A's address or nobody's: the firewall drops the packets,
    # nothing answers. C (port security off) with nobody's address reaches the
    # agent, which does not know it: 404.
    for address in (ip_a, NOBODY):
        use_address(vm_b, address, gateway)
        status, body = fetch(vm_b, "/openstack/latest/meta_data.json", timeout=4)
        assert status in (0, 404), (address, status, body)
        assert port_a["device_id"] not in body
    use_address(vm_b, ip_b, gateway)
    use_address(vm_c, NOBODY, gateway)
    status, body = fetch(vm_c, "/openstack/latest/meta_data.json")
    assert status == 404, body
    assert port_c["device_id"] not in body and port_a["device_id"] not in body
    use_address(vm_c, ip_c, gateway)
    status, body = fetch(vm_c, "/openstack/latest/meta_data.json")
    assert status == 200 and json.loads(body)["uuid"] == port_c["device_id"], body

    # The router deleted: its proxy goes with its namespace.
    world.delete_router(router["id"])
    assert world.wait_namespace_gone(router["id"], 15)
    assert proxies.running(namespace) is None
    assert not os.path.exists(proxies.pid_file(namespace))
