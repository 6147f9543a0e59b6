"""QoS on the L3 side: `qos_policy_id` on floating IPs (qos-fip) and in routers'
``external_gateway_info`` (qos-gateway-ip, resources/router.py's gateway_info
accepts the key). services/qos_l3.py binds them; the L3 agent applies the
bandwidth limits in the router namespace (agent/l3/qos.py)."""

from __future__ import annotations

from neutrino.resources import validators as v
from neutrino.resources.attributes import Attr
from neutrino.resources.feature import Extension, Feature

QOS_FIP = Feature(
    "qos-fip",
    (Extension("qos-fip", "Floating IP QoS", "The floating IP Quality of Service "
               "extension", "2017-07-20T00:00:00-00:00"),),
    adds={"floatingips": (Attr("qos_policy_id", convert=v.uuid_or_none("qos_policy_id"),
                               default=None, allow_put=True, filterable=False,
                               sortable=False),)})

QOS_GATEWAY_IP = Feature(
    "qos-gateway-ip",
    (Extension("qos-gateway-ip", "Router gateway IP QoS", "The Router gateway IP "
               "Quality of Service extension", "2018-02-24T00:00:00-00:00"),))
