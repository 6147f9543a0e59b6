"""The import contract: dependencies between neutrino's packages point one way.

A small checker over the source's AST (every import, also those inside functions and
under TYPE_CHECKING): the layers below, top to bottom, where a package may import
its own layer and those below it, never one above; no cycle between the top-level
packages; agents import only their own packages, the shared contract and a few
neutral modules. A violating import fails this test, and so `make test`.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

import neutrino

# Top-level units of neutrino (a package, or a module directly under it), by layer,
# top to bottom.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"cmd", "cli"}),          # process entry points
    frozenset({"api", "agent"}),        # HTTP; the agents (their own rule below)
    frozenset({"core"}),                # the composition root
    frozenset({"conf"}),                # options, read at the edges
    frozenset({"rpc"}),                 # the bus: endpoints, notifier
    frozenset({"services"}),            # the work, one transaction per call
    frozenset({"ml2", "ipam", "resources"}),
    frozenset({"db"}),                  # models, engine, list queries
    frozenset({"contract", "policy", "policy_eval", "policy_rbac", "events", "context",
               "exceptions", "log", "topology"}),   # neutral leaves
)

# What `neutrino.agent.*` may import besides `neutrino.agent.*` itself.
AGENT_ALLOWED = frozenset({"contract", "exceptions", "log"})

# What the `neutrino` CLI (neutrino.cli) may not import: it is a client of the API and
# talks to the server over HTTP only (it may use the agents' code: probes plug as
# neutrino-vif does, trace --live reads the host as the agents render it).
CLI_FORBIDDEN = frozenset({"api", "core", "conf", "rpc", "services", "ml2", "ipam", "db",
                           "resources", "cmd"})

# Imports excused from the rules, with the reason (importer prefix, imported prefix).
PENDING: dict[tuple[str, str], str] = {}

SRC = Path(neutrino.__file__).parent


# -- the checker ------------------------------------------------------------------------

def module_imports(root: Path) -> dict[str, set[str]]:
    """Each module of the package at `root` -> the modules of that package it imports
    (`from pkg import name` counts as pkg.name when that is a module)."""
    top = root.name
    modules: dict[str, Path] = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    imports: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join([*parts, *([node.module] if node.module else [])])
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    found.add(sub if sub in modules else base)
        imports[name] = {m for m in found if m == top or m.startswith(top + ".")}
    return imports


def unit(module: str) -> str:
    """The top-level package or module a module belongs to (`neutrino.api.app` -> api)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _pending(importer: str, imported: str, pending: dict[tuple[str, str], str]) -> bool:
    return any(_under(importer, a) and _under(imported, b) for a, b in pending)


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def edges(imports: dict[str, set[str]], pending: dict[tuple[str, str], str]
          ) -> list[tuple[str, str]]:
    return sorted((a, b) for a, targets in imports.items() for b in targets
                  if unit(a) != unit(b) and not _pending(a, b, pending))


def layer_violations(imports: dict[str, set[str]], layers: tuple[frozenset[str], ...],
                     pending: dict[tuple[str, str], str]) -> list[str]:
    rank = {name: i for i, layer in enumerate(layers) for name in layer}
    out = []
    for a, b in edges(imports, pending):
        ua, ub = unit(a), unit(b)
        if ua not in rank or ub not in rank:
            if unit(a) != a.split(".")[0]:  # the package's own __init__ is no unit
                out.append(f"{a} -> {b}: {ua if ua not in rank else ub} is in no layer")
        elif rank[ub] < rank[ua]:
            out.append(f"{a} -> {b}: {ua} may not import {ub} (a layer above)")
    return out


def package_cycles(imports: dict[str, set[str]], pending: dict[tuple[str, str], str]
                   ) -> list[list[str]]:
    """Strongly connected groups of top-level units (each a cycle or more)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in edges(imports, pending):
        graph[unit(a)].add(unit(b))
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def agent_violations(imports: dict[str, set[str]], allowed: frozenset[str],
                     pending: dict[tuple[str, str], str]) -> list[str]:
    return [f"{a} -> {b}" for a, b in edges(imports, pending)
            if unit(a) == "agent" and unit(b) not in allowed]


# -- the contract on neutrino -----------------------------------------------------------

@pytest.fixture(scope="module")
def imports() -> dict[str, set[str]]:
    return module_imports(SRC)


def test_every_package_is_in_a_layer(imports: dict[str, set[str]]) -> None:
    layered = set().union(*LAYERS)
    units = {unit(m) for m in imports} - {"neutrino"}
    assert units <= layered, f"add to LAYERS: {sorted(units - layered)}"


def test_layers_point_one_way(imports: dict[str, set[str]]) -> None:
    assert layer_violations(imports, LAYERS, PENDING) == []


def test_no_cycles_between_packages(imports: dict[str, set[str]]) -> None:
    assert package_cycles(imports, PENDING) == []


def test_agents_import_only_agents_and_the_contract(imports: dict[str, set[str]]) -> None:
    assert agent_violations(imports, AGENT_ALLOWED, {}) == []


def test_cli_talks_to_the_server_over_http_only(imports: dict[str, set[str]]) -> None:
    assert [f"{a} -> {b}" for a, b in edges(imports, {})
            if unit(a) == "cli" and unit(b) in CLI_FORBIDDEN] == []


def test_every_pending_exception_is_still_needed(imports: dict[str, set[str]]) -> None:
    def found(pending: dict[tuple[str, str], str]) -> tuple[list[str], list[list[str]]]:
        return layer_violations(imports, LAYERS, pending), package_cycles(imports, pending)
    unneeded = [key for key in PENDING
                if found({k: r for k, r in PENDING.items() if k != key}) == found(PENDING)]
    assert unneeded == [], "remove these from PENDING"


# -- the checker itself -----------------------------------------------------------------

def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "neutrino"


GOOD = {
    "neutrino/__init__.py": "",
    "neutrino/api/__init__.py": "",
    "neutrino/api/app.py": "from neutrino.services import networks\n",
    "neutrino/services/__init__.py": "",
    "neutrino/services/networks.py": "from ..db import models\nimport neutrino.exceptions\n",
    "neutrino/db/__init__.py": "",
    "neutrino/db/models.py": "from neutrino import exceptions\n",
    "neutrino/exceptions.py": "",
    "neutrino/agent/__init__.py": "",
    "neutrino/agent/plan.py": "from neutrino.contract import names\nfrom . import render\n",
    "neutrino/agent/render.py": "",
    "neutrino/contract/__init__.py": "",
    "neutrino/contract/names.py": "",
}


def test_checker_finds_nothing_in_a_clean_tree(tmp_path: Path) -> None:
    found = module_imports(_tree(tmp_path, GOOD))
    assert found["neutrino.services.networks"] == {"neutrino.db.models",
                                                   "neutrino.exceptions"}
    assert layer_violations(found, LAYERS, {}) == []
    assert package_cycles(found, {}) == []
    assert agent_violations(found, AGENT_ALLOWED, {}) == []


def test_checker_reports_an_upward_import_and_its_cycle(tmp_path: Path) -> None:
    bad = dict(GOOD)
    # A service reaching into the HTTP layer, inside a function, relatively.
    bad["neutrino/services/networks.py"] = "def f():\n    from ..api.app import x\n"
    found = module_imports(_tree(tmp_path, bad))
    assert layer_violations(found, LAYERS, {}) == [
        "neutrino.services.networks -> neutrino.api.app: services may not import api "
        "(a layer above)"]
    assert package_cycles(found, {}) == [["api", "services"]]
    # An explicit pending exception silences exactly that import.
    pending = {("neutrino.services.networks", "neutrino.api"): "test"}
    assert layer_violations(found, LAYERS, pending) == []
    assert package_cycles(found, pending) == []


def test_checker_reports_an_agent_importing_the_server(tmp_path: Path) -> None:
    bad = dict(GOOD)
    bad["neutrino/agent/render.py"] = "from neutrino.db import models\n"
    found = module_imports(_tree(tmp_path, bad))
    assert agent_violations(found, AGENT_ALLOWED, {}) == [
        "neutrino.agent.render -> neutrino.db.models"]
    # Layers alone allow it (db is below agent): the agent rule is what refuses it.
    assert layer_violations(found, LAYERS, {}) == []


def test_checker_reports_a_package_in_no_layer(tmp_path: Path) -> None:
    bad = dict(GOOD)
    bad["neutrino/stray.py"] = "from neutrino.api import app\n"
    found = module_imports(_tree(tmp_path, bad))
    assert layer_violations(found, LAYERS, {}) == [
        "neutrino.stray -> neutrino.api.app: stray is in no layer"]
