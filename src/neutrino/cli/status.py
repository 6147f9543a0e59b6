"""``neutrino status``: the server (version, database, bus and, on RabbitMQ, its
queues) and the agents per host: alive or down, last heartbeat, what each serves
(from the configurations they report), versions."""

from __future__ import annotations

import argparse
from typing import Any

from rich.text import Text

from neutrino.cli.client import ApiError, Client
from neutrino.cli.output import Output

STATUS_PATH = "/v2.0/neutrino/status"

# What an agent serves, by the keys its type reports in `configurations`.
SERVES_KEYS = ("networks", "subnets", "ports", "routers", "floating_ips", "gateways",
               "interfaces", "devices", "ex_gw_ports")


def serves(configurations: dict[str, Any]) -> str:
    parts = [f"{key.replace('_', ' ')} {configurations[key]}" for key in SERVES_KEYS
             if isinstance(configurations.get(key), int)
             and not isinstance(configurations.get(key), bool)]
    return ", ".join(parts) or "-"


def collect(client: Client) -> dict[str, Any]:
    try:
        server = client.get(STATUS_PATH)["status"]
    except ApiError as error:
        # An older server, or no admin right: say so, still show what is visible.
        server = {"error": str(error)}
    out: dict[str, Any] = {"server": server}
    try:
        agents = client.list("agents")
    except ApiError as error:
        if error.status != 403:
            raise
        out["agents_error"], agents = str(error), []
    out["agents"] = sorted(agents, key=lambda a: (a.get("host") or "",
                                                  a.get("agent_type") or ""))
    return out


def _yes_no(value: Any) -> Text:
    if value is None:
        return Text("unknown", style="yellow")
    return Text("yes", style="green") if value else Text("NO", style="bold red")


def render(out: Output, data: dict[str, Any]) -> None:
    server = data["server"]
    if "error" in server:
        out.print(Text(f"server status unavailable: {server['error']}", style="yellow"))
    else:
        db, bus = server["database"], server["bus"]
        out.table("Server", ["version", "host", "auth", "api workers", "database",
                             "database reachable", "schema", "bus", "bus reachable"],
                  [[server["version"], server["host"], server["auth_strategy"],
                    server["api_workers"], db["backend"], _yes_no(db["reachable"]),
                    db.get("schema") or db.get("error"),
                    f"{bus['driver']} {' '.join(bus['hosts'])}".strip(),
                    _yes_no(bus["reachable"]) if not bus.get("error")
                    else Text(f"NO ({bus['error']})", style="bold red")]])
        if server["bus"].get("queues"):
            out.table("Queues", ["queue", "messages waiting", "consumers"],
                      [[q["name"], q["messages"], _consumers(q)]
                       for q in server["bus"]["queues"]])
    if data.get("agents_error"):
        out.print(Text(f"agents unavailable: {data['agents_error']}", style="yellow"))
    rows = []
    for agent in data["agents"]:
        conf = agent.get("configurations") or {}
        alive = Text("alive", style="green") if agent.get("alive") else Text(
            "DOWN", style="bold red")
        if not agent.get("admin_state_up", True):
            alive.append(" (disabled)", style="yellow")
        rows.append([agent.get("host"), agent.get("agent_type"), agent.get("binary"),
                     alive, agent.get("heartbeat_timestamp"), serves(conf),
                     agent_version(agent)])
    out.table(f"Agents ({len(rows)})", ["host", "type", "binary", "state",
                                        "last heartbeat", "serves", "version"], rows)


def unserved(server: dict[str, Any]) -> list[str]:
    """The server's RPC queues no process consumes: agents' calls to them wait
    until they time out (the RPC workers are gone or stuck)."""
    return [q["name"] for q in (server.get("bus") or {}).get("queues") or []
            if q.get("rpc") and not q["consumers"]]


def _consumers(queue: dict[str, Any]) -> Text:
    if queue.get("rpc") and not queue["consumers"]:
        return Text("0 (nobody serves it)", style="bold red")
    return Text(str(queue["consumers"]))


def agent_version(agent: dict[str, Any]) -> str:
    """What the agent says of its version: upstream agents report resource_versions
    (object versions), ours may put a version in configurations."""
    conf = agent.get("configurations") or {}
    if conf.get("version"):
        return str(conf["version"])
    versions = agent.get("resource_versions") or {}
    return ", ".join(f"{k} {v}" for k, v in sorted(versions.items())) or "-"


def run(args: argparse.Namespace, client: Client, out: Output) -> int:
    data = collect(client)
    if out.json:
        out.document(data)
    else:
        render(out, data)
    down = [a for a in data["agents"] if not a.get("alive")]
    unreachable = any(data["server"].get(part, {}).get("reachable") is False
                      for part in ("database", "bus"))
    # Scripts: non-zero when something is down.
    failed = ("error" in data["server"] or "agents_error" in data
              or bool(unserved(data["server"])))
    return 1 if (down or unreachable or failed) else 0


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    cmd = sub.add_parser("status", parents=[common], help="server, database, bus, agents",
                         description="The server's version, whether its database and "
                                     "message bus answer, and every agent per host: alive "
                                     "or down, last heartbeat, what it serves, versions; on "
                                     "RabbitMQ the server's queues (messages waiting, "
                                     "consumers). Exit status 1 when anything is down, "
                                     "or an RPC queue has no consumer.")
    cmd.set_defaults(func=run)
