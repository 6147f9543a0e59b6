"""external-net: `router:external` (and `is_default`) on networks.

An external network is where routers put their gateway and floating IPs come from;
every project sees it. Only an administrator makes a network external.
"""

from __future__ import annotations

from neutrino import exceptions as exc
from neutrino.resources import validators as v
from neutrino.resources.attributes import Attr
from neutrino.resources.feature import Extension, Feature

EXTERNAL = "router:external"
IS_DEFAULT = "is_default"


class ExternalNetworkInUse(exc.InUse):
    message = ("External network %(net_id)s cannot be updated to be made non-external, "
               "since it has existing gateway ports.")


class DefaultExternalNetworkExists(exc.Conflict):
    message = "A default external network already exists: %(net_id)s."


FEATURE = Feature(
    "external-net",
    (Extension("external-net", "Neutron external network", "Adds external network "
               "attribute to network resource.", "2013-01-14T10:00:00-00:00"),),
    adds={"networks": (
        Attr(EXTERNAL, convert=v.to_boolean, default=False, allow_put=True,
             enforce_policy=True, sortable=False, filter_convert=v.query_bool),
        Attr(IS_DEFAULT, convert=v.to_boolean, default=False, allow_put=True,
             enforce_policy=True, sortable=False, filter_convert=v.query_bool),
    )})
