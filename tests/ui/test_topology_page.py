"""The topology page (``/topology``) in headless Chromium, as a person sees it: two
networks, a router between them with an external gateway and a floating IP drawn with
their statuses and edges (asserted on the DOM after the page's script ran, and saved
as a PNG in the test's directory); then changes made through the API appear without a
reload. A server of its own (SQLite, noauth): the drawing shows only this scenario.

Set NEUTRINO_UPDATE_DOCS_SCREENSHOT=1 to refresh docs/topology.png from this run.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from chromium import Chromium, require_chromium
from server import Api, ServerProcess

DOCS_PNG = Path(__file__).resolve().parents[2] / "docs" / "topology.png"

NODES_JS = """[...document.querySelectorAll('#topology g.node')].map(g => ({
  kind: g.dataset.kind, id: g.dataset.id, name: g.dataset.name, status: g.dataset.status,
  classes: g.getAttribute('class'), text: g.textContent}))"""
EDGES_JS = """[...document.querySelectorAll('#topology line.edge')].map(l => [
  l.dataset.kind, l.dataset.from, l.dataset.to])"""


@pytest.fixture(scope="module")
def page_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    require_chromium()  # skip before paying for a server
    state = tmp_path_factory.mktemp("topology-page")
    with ServerProcess(state, f"sqlite:///{state / 'neutrino.sqlite'}") as proc:
        yield proc


def scenario(url: str) -> dict:
    """public (external, the admin's) ← r1 (the project's) → net-a, net-b; vm1 on
    net-a with a floating IP, vm2 on net-b."""
    admin = Api(url)
    project = f"p-{uuid.uuid4().hex}"
    api = admin.as_project(project, ["admin"])
    public = admin.network(name="public", **{"router:external": True})
    admin.subnet(public["id"], "198.51.100.0/24")
    net_a, net_b = api.network(name="net-a"), api.network(name="net-b")
    sub_a = api.subnet(net_a["id"], "10.10.1.0/24")
    sub_b = api.subnet(net_b["id"], "10.10.2.0/24")
    router = api.create("router", name="r1",
                        external_gateway_info={"network_id": public["id"]})
    for subnet in (sub_a, sub_b):
        assert api.put(f"/v2.0/routers/{router['id']}/add_router_interface",
                       {"subnet_id": subnet["id"]}).status_code == 200
    vm1 = api.port(net_a["id"], name="vm1", device_owner="compute:nova")
    vm2 = api.port(net_b["id"], name="vm2", device_owner="compute:nova")
    fip = api.create("floatingip", floating_network_id=public["id"], port_id=vm1["id"])
    return {"api": api, "project": project, "public": public, "net_a": net_a,
            "net_b": net_b, "router": router, "vm1": vm1, "vm2": vm2, "fip": fip}


def test_topology_page_draws_the_project_and_follows_changes(
        page_server: ServerProcess, tmp_path: Path) -> None:
    world = scenario(page_server.url)
    api = world["api"]
    ids = {k: world[k]["id"] for k in ("public", "net_a", "net_b", "router", "vm1", "vm2",
                                       "fip")}
    with Chromium(width=1100, height=640) as browser:
        browser.navigate(f"{page_server.url}/topology#project={world['project']}&interval=0.5")
        browser.wait_for("document.querySelectorAll('#topology g.node').length >= 7")
        nodes = {n["id"]: n for n in browser.evaluate(NODES_JS)}
        shown = {(n["kind"], n["name"]) for n in nodes.values()}
        assert shown == {("network", "public"), ("network", "net-a"), ("network", "net-b"),
                         ("router", "r1"), ("port", "vm1"), ("port", "vm2"),
                         ("floatingip", world["fip"]["floating_ip_address"])}
        # Each status as the API has it (ports DOWN: no agent binds them here).
        for key, path in (("net_a", "networks"), ("public", "networks"),
                          ("router", "routers"), ("vm1", "ports"), ("fip", "floatingips")):
            current = api.get(f"/v2.0/{path}/{ids[key]}").json()
            assert nodes[ids[key]]["status"] == next(iter(current.values()))["status"]
        assert nodes[ids["vm1"]]["status"] == "DOWN"
        assert nodes[ids["router"]]["status"] == "ACTIVE"
        assert "external" in nodes[ids["public"]]["classes"]
        assert "10.10.1.0/24" in nodes[ids["net_a"]]["text"]
        edges = {tuple(e) for e in browser.evaluate(EDGES_JS)}
        assert edges == {
            ("gateway", ids["router"], ids["public"]),
            ("interface", ids["router"], ids["net_a"]),
            ("interface", ids["router"], ids["net_b"]),
            ("port", ids["vm1"], ids["net_a"]), ("port", ids["vm2"], ids["net_b"]),
            ("nat", ids["fip"], ids["vm1"])}
        assert browser.evaluate("document.getElementById('live').className") == "on"
        png = browser.screenshot(tmp_path / "topology.png")
        print(f"\ntopology page screenshot: {png}")
        if os.environ.get("NEUTRINO_UPDATE_DOCS_SCREENSHOT") == "1":
            shutil.copy(png, DOCS_PNG)

        # Live: a new network and a port set admin down appear without a reload (the
        # marker would not survive one); unchanged polls were answered 304.
        browser.evaluate("window.notReloaded = true")
        net_c = api.network(name="net-c")
        assert api.put(f"/v2.0/ports/{ids['vm2']}",
                       {"port": {"admin_state_up": False}}).status_code == 200
        browser.wait_for(f"""(() => {{
            const c = document.querySelector('g.node[data-id="{net_c['id']}"]');
            const vm2 = document.querySelector('g.node[data-id="{ids['vm2']}"]');
            return c && vm2.classList.contains('admin-down');
        }})()""")
        assert browser.evaluate("window.notReloaded") is True
        assert "admin down" in browser.evaluate(
            f"document.querySelector('g.node[data-id=\"{ids['vm2']}\"]').textContent")
        assert browser.evaluate(f"""document.querySelector(
            'g.node[data-id="{net_c['id']}"]').dataset.name""") == "net-c"
        assert browser.wait_for("""performance.getEntriesByType('resource').filter(
            e => e.name.includes('/v2.0/neutrino/topology') && e.responseStatus === 304
            ).length""")
        print(f"after the changes: {browser.screenshot(tmp_path / 'topology-live.png')}")
