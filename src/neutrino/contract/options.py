"""Configuration options the server and the agents share, defined once.

One neutron.conf-style file can configure both, and the all-in-one registers the
server's and its agents' options on one ConfigOpts: the same Opt objects are never
a duplicate.
"""

from __future__ import annotations

import os

from oslo_config import cfg

DEFAULT_STATE_PATH = os.path.join(os.getcwd(), "state")

STATE_PATH = cfg.StrOpt(
    "state_path", default=DEFAULT_STATE_PATH, sample_default="./state",
    help="Where Neutrino keeps its state (the embedded SQLite database).")
DNS_DOMAIN = cfg.StrOpt(
    "dns_domain", default="openstacklocal",
    help="Domain of the hosts' names (dns_assignment, DHCP). While it is "
         "'openstacklocal' ports' dns_name and dns_domain are ignored, as "
         "upstream.")
LOG_FILE = cfg.StrOpt("log_file", help="Log to this file instead of standard error.")
DEBUG = cfg.BoolOpt("debug", default=False, mutable=True, help="Log at DEBUG level.")

# What every agent binary registers for logging.
LOG_OPTS = [LOG_FILE, DEBUG]
