"""The L3 agent's calls over RabbitMQ against a real server (docs/rpc.md):
``sync_routers`` answers the "l3" desired state and binds the routers' ports to the
asking host; ``update_floatingip_statuses`` sets the statuses of that router's
floating IPs only; a floating IP that loses its router goes DOWN."""

from __future__ import annotations

from rpc_helpers import PluginClient, Reporter, l3_state, lb_state, unique
from server import Api


def setup_router(admin: Api) -> dict:
    ext = admin.network(name=unique("public"), **{"router:external": True})
    admin.subnet(ext["id"], "198.18.0.0/24", enable_dhcp=False)
    net = admin.network(name=unique("private"))
    subnet = admin.subnet(net["id"], "10.31.0.0/24")
    router = admin.create("router", name=unique("r"),
                          external_gateway_info={"network_id": ext["id"]})
    response = admin.put(f"routers/{router['id']}/add_router_interface",
                         {"subnet_id": subnet["id"]})
    assert response.status_code == 200, response.text
    vm = admin.port(net["id"])
    fip = admin.create("floatingip", floating_network_id=ext["id"], port_id=vm["id"])
    return {"router": router, "net": net, "fip": fip, "vm": vm, "ext": ext}


def test_sync_routers_binds_the_router_ports_to_the_agents_host(
        admin: Api, report: Reporter, plugin: PluginClient) -> None:
    host = unique("network")
    report(lb_state(host, "192.0.2.31"))
    report(l3_state(host))
    made = setup_router(admin)
    router_id = made["router"]["id"]
    ports = admin.get("ports", params={"device_id": router_id}).json()["ports"]
    assert {p["binding:host_id"] for p in ports} == {""}

    state = plugin.call("sync_routers", host=host)
    desired = plugin.call("get_desired_state", host=host, kind="l3")
    assert (state["host"], state["agent_id"]) == (host, desired["agent_id"])
    assert [r["id"] for r in state["routers"]] == [r["id"] for r in desired["routers"]]
    [router] = [r for r in state["routers"] if r["id"] == router_id]
    assert router["gateway"]["network_id"] == made["ext"]["id"]
    assert [i["network_id"] for i in router["interfaces"]] == [made["net"]["id"]]
    assert [f["id"] for f in router["floating_ips"]] == [made["fip"]["id"]]

    ports = admin.get("ports", params={"device_id": router_id}).json()["ports"]
    assert len(ports) == 2
    for port in ports:
        assert port["binding:host_id"] == host
        assert port["binding:vif_type"] == "bridge"   # the host's L2 agent binds them
        assert port["status"] == "DOWN"               # until it reports them up
    # Already bound: nothing changes on the next sync.
    revisions = {p["id"]: p["revision_number"] for p in ports}
    plugin.call("sync_routers", host=host)
    assert {p["id"]: p["revision_number"] for p in admin.get(
        "ports", params={"device_id": router_id}).json()["ports"]} == revisions


def test_floatingip_statuses_of_that_router_only(admin: Api, report: Reporter,
                                                 plugin: PluginClient) -> None:
    host = unique("network")
    report(lb_state(host, "192.0.2.32"))
    report(l3_state(host))
    one, two = setup_router(admin), setup_router(admin)
    fip, other = one["fip"], two["fip"]

    plugin.call("update_floatingip_statuses", router_id=one["router"]["id"],
                fip_statuses={fip["id"]: "ACTIVE", other["id"]: "ACTIVE",
                              "no-such-fip": "ACTIVE"})
    shown = admin.get(f"floatingips/{fip['id']}").json()["floatingip"]
    assert shown["status"] == "ACTIVE"
    assert shown["revision_number"] == fip["revision_number"] + 1
    assert admin.get(f"floatingips/{other['id']}").json()["floatingip"]["status"] == "DOWN"

    # Unknown statuses are ignored; the same status again changes nothing.
    plugin.call("update_floatingip_statuses", router_id=one["router"]["id"],
                fip_statuses={fip["id"]: "BROKEN"})
    plugin.call("update_floatingip_statuses", router_id=one["router"]["id"],
                fip_statuses={fip["id"]: "ACTIVE"})
    again = admin.get(f"floatingips/{fip['id']}").json()["floatingip"]
    assert (again["status"], again["revision_number"]) == ("ACTIVE",
                                                          shown["revision_number"])

    # Disassociated: no router carries it any more, DOWN at once.
    response = admin.put(f"floatingips/{fip['id']}", {"floatingip": {"port_id": None}})
    assert response.status_code == 200, response.text
    assert admin.get(f"floatingips/{fip['id']}").json()["floatingip"]["status"] == "DOWN"

    # Its port deleted: the same.
    plugin.call("update_floatingip_statuses", router_id=two["router"]["id"],
                fip_statuses={other["id"]: "ACTIVE"})
    assert admin.delete(f"ports/{two['vm']['id']}").status_code == 204
    gone = admin.get(f"floatingips/{other['id']}").json()["floatingip"]
    assert (gone["port_id"], gone["status"]) == (None, "DOWN")
