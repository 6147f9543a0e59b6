"""neutrino-db-manage: upgrade, downgrade and inspect the database schema."""

from __future__ import annotations

import argparse
import sys

from neutrino import conf as conf_mod
from neutrino.core import database
from neutrino.db import migrate


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="neutrino-db-manage")
    parser.add_argument("--config-file", action="append", default=[],
                        help="configuration file (repeatable)")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("upgrade", help="upgrade the schema (default: to head)")
    up.add_argument("revision", nargs="?", default="head")
    down = sub.add_parser("downgrade", help="downgrade the schema to a revision")
    down.add_argument("revision")
    sub.add_parser("current", help="print the schema revision of the database")
    sub.add_parser("heads", help="print the newest revision this code knows")
    args = parser.parse_args(argv)

    conf_args = [a for f in args.config_file for a in ("--config-file", f)]
    conf = conf_mod.new_conf(conf_args)
    db = database(conf)
    if args.command == "upgrade":
        migrate.upgrade(db, args.revision)
        print(f"database at revision {migrate.current(db)}")
    elif args.command == "downgrade":
        migrate.downgrade(db, args.revision)
        print(f"database at revision {migrate.current(db)}")
    elif args.command == "current":
        print(migrate.current(db) or "(empty database)")
    else:
        print(migrate.head(db))
    return 0


if __name__ == "__main__":
    sys.exit(main())
