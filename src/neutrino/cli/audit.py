"""``neutrino audit``: the usage audit (upstream's neutron-usage-audit). Emits one
``<resource>.exists`` notification (INFO, publisher ``network.<host>``, payload
``{"<resource>": <the API's view>}``) for every network, subnet, port, router and
floating IP, on the notification bus of neutrino.conf
(``[oslo_messaging_notifications] driver``/``topics``, ``transport_url``), for
billing and metering consumers such as Ceilometer.

Where the data comes from, and why: the resources are read from the API (admin
credentials), not from the database. The CLI thus stays one client of the API with
one code path for every view (the same dicts the API and the create/update/delete
notifications carry), runs on any host with credentials and a config file, and needs
no database password. What it needs of the server's configuration is the bus only:
the config file is read for that, nothing else.
"""

from __future__ import annotations

import argparse
import os
import socket
import uuid
from typing import Any

from oslo_config import cfg
from oslo_context import context as oslo_context

from neutrino.cli.client import ApiError, Client
from neutrino.cli.output import Output

RESOURCES = (("network", "networks"), ("subnet", "subnets"), ("port", "ports"),
             ("router", "routers"), ("floatingip", "floatingips"))
DEFAULT_CONFIG = "/etc/neutrino/neutrino.conf"


def load_conf(files: list[str], transport_url: str | None) -> cfg.ConfigOpts:
    # Imported here: oslo.messaging takes a second or two to import, which every other
    # command would pay.
    from neutrino.contract import bus
    conf = cfg.ConfigOpts()
    bus.register_opts(conf)
    if not files and os.path.exists(DEFAULT_CONFIG):
        files = [DEFAULT_CONFIG]
    for path in files:
        if not os.path.exists(path):
            raise ApiError(f"no config file {path}")
    conf(args=[], project="neutrino", default_config_files=files)
    if transport_url:
        conf.set_override("transport_url", transport_url)
    return conf


def notifier(conf: cfg.ConfigOpts, driver: str | None, host: str) -> Any:
    import oslo_messaging

    from neutrino.contract import bus
    if bus.is_in_process(conf):
        raise ApiError("transport_url is the in-process bus (fake://): no consumer could "
                       "hear the notifications; give the server's config file "
                       "(--config-file) or --transport-url")
    transport = oslo_messaging.get_notification_transport(conf)
    # Registered by get_notification_transport. (Notifier.is_enabled() says yes to no
    # driver at all, so the names are looked at here.)
    names = [driver] if driver else list(conf.oslo_messaging_notifications.driver)
    if not [name for name in names if name != "noop"]:
        transport.cleanup()
        raise ApiError("notifications are off ([oslo_messaging_notifications] driver is "
                       "unset or noop): set it, or pass --driver messagingv2")
    return oslo_messaging.Notifier(transport, publisher_id=f"network.{host}", driver=driver)


def run(args: argparse.Namespace, client: Client, out: Output) -> int:
    conf = load_conf(args.config_file or [], args.transport_url)
    sender = notifier(conf, args.driver, args.host)
    # oslo.messaging's notifier sends an oslo.context RequestContext and drops a
    # plain dict (the notification would arrive with an empty context).
    context = oslo_context.RequestContext(is_admin=True,
                                          request_id=f"req-{uuid.uuid4()}")
    counts: dict[str, int] = {}
    try:
        for resource, collection in RESOURCES:
            items = client.list(collection)
            with out.progress(f"{resource}.exists", len(items)) as advance:
                for item in items:
                    sender.info(context, f"{resource}.exists", {resource: item})
                    advance()
            counts[resource] = len(items)
    finally:
        sender.transport.cleanup()
    if out.json:
        out.document({"sent": counts, "publisher_id": f"network.{args.host}"})
    else:
        out.table("usage audit: notifications sent", ["event", "count"],
                  [[f"{r}.exists", n] for r, n in counts.items()])
    return 0


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    cmd = sub.add_parser("audit", parents=[common],
                         help="emit <resource>.exists notifications (usage audit)",
                         description=(__doc__ or "").split("\n\n")[0])
    cmd.add_argument("--config-file", action="append", default=None,
                     help="neutrino.conf for the bus (repeatable; default "
                          f"{DEFAULT_CONFIG} when present)")
    cmd.add_argument("--transport-url", default=None,
                     help="the notification bus, overriding the config's transport_url")
    cmd.add_argument("--driver", default=None,
                     help="notification driver, overriding [oslo_messaging_notifications] "
                          "driver (e.g. messagingv2)")
    cmd.add_argument("--host", default=socket.gethostname(),
                     help="publisher_id is network.<host> (default: this machine)")
    cmd.set_defaults(func=run)
