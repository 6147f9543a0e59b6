"""``neutrino``: the operator's command line. Subcommands: status, topology, trace,
debug (probes), audit. Each has ``--help``; ``--format json`` prints one JSON
document for scripts. It reaches the API with a keystoneauth session (``OS_*``,
``--os-cloud``) or noauth (``--noauth``); see docs/operators.md."""

from __future__ import annotations

import argparse
import sys

from neutrino.cli import audit, client, debug, status, topology, trace
from neutrino.cli.output import Output

SUBCOMMANDS = (status, topology, trace, debug, audit)


def _common(suppress: bool) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--format", choices=["table", "json"],
                        default=argparse.SUPPRESS if suppress else "table",
                        help="table (default) or json (one document on stdout)")
    client.add_arguments(common, suppress=suppress)
    return common


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="neutrino", parents=[_common(False)],
        description="Operate a Neutrino deployment: its health, its topology, why two "
                    "ports can or cannot talk, probes inside networks, usage audit.")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = _common(True)
    for module in SUBCOMMANDS:
        module.add_parser(sub, common)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    out = Output(args.format)
    try:
        return int(args.func(args, client.connect(args), out) or 0)
    except client.ApiError as error:
        print(f"neutrino: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
