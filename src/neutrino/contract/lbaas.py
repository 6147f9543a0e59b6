"""Load balancing (issue 16): what the load balancer agent asks the server and
what it reports back.

* ``get_loadbalancers(host)`` on topic ``n-lbaas-plugin`` (the seed's) answers a
  `LbaasState`: every load balancer scheduled to the host, with its listeners,
  pools, members, health monitors and L7 policies as the API holds them (objects
  pending deletion left out), and those being deleted.
* ``update_statuses(host, reports)``: per load balancer the revision the agent
  applied (provisioning goes ACTIVE, or ERROR with the agent's reason) and the
  members' health as HAProxy's checks see it (operating status).
* The server casts ``loadbalancers_updated`` on the ``n-lbaas_agent`` fanout; an
  agent treats it as "resync soon".
"""

from __future__ import annotations

from typing import TypedDict

# The names that enable load balancing in the server's service_plugins.
PLUGIN_NAMES = ("lbaas", "lbaasv2", "octavia")
LBAAS_PLUGIN = "n-lbaas-plugin"
LBAAS_AGENT = "n-lbaas_agent"
AGENT_TYPE_LOADBALANCER = "Loadbalancer agent"
NAMESPACE_PREFIX = "qlbaas-"  # one namespace per load balancer (the seed's prefix)


def namespace(loadbalancer_id: str) -> str:
    return NAMESPACE_PREFIX + loadbalancer_id


class LbHealthMonitor(TypedDict):
    id: str
    type: str                 # HTTP, HTTPS, PING, TCP, TLS-HELLO, UDP-CONNECT, SCTP
    delay: int                # seconds
    timeout: int              # seconds
    max_retries: int          # successes to go up
    max_retries_down: int     # failures to go down
    http_method: str | None
    url_path: str | None
    expected_codes: str | None
    admin_state_up: bool


class LbMember(TypedDict):
    id: str
    address: str
    protocol_port: int
    weight: int
    backup: bool
    admin_state_up: bool
    monitor_address: str | None
    monitor_port: int | None


class LbPool(TypedDict):
    id: str
    protocol: str             # HTTP, HTTPS, TCP, PROXY, PROXYV2, UDP, SCTP
    lb_algorithm: str         # ROUND_ROBIN, LEAST_CONNECTIONS, SOURCE_IP, SOURCE_IP_PORT
    admin_state_up: bool
    # {"type": SOURCE_IP | HTTP_COOKIE | APP_COOKIE, "cookie_name": …} or None
    session_persistence: dict[str, object] | None
    members: list[LbMember]
    healthmonitor: LbHealthMonitor | None


class LbL7Rule(TypedDict):
    id: str
    type: str                 # HOST_NAME, PATH, FILE_TYPE, HEADER, COOKIE, …
    compare_type: str         # REGEX, STARTS_WITH, ENDS_WITH, CONTAINS, EQUAL_TO
    key: str | None
    value: str
    invert: bool
    admin_state_up: bool


class LbL7Policy(TypedDict):
    id: str
    action: str               # REDIRECT_TO_POOL, REDIRECT_TO_URL, REDIRECT_PREFIX, REJECT
    position: int
    redirect_pool_id: str | None
    redirect_url: str | None
    redirect_prefix: str | None
    redirect_http_code: int | None
    admin_state_up: bool
    rules: list[LbL7Rule]


class LbListener(TypedDict):
    id: str
    protocol: str             # HTTP, TCP, …
    protocol_port: int
    connection_limit: int     # -1: unlimited
    default_pool_id: str | None
    admin_state_up: bool
    timeout_client_data: int  # milliseconds, as the API
    timeout_member_connect: int
    timeout_member_data: int
    insert_headers: dict[str, str]
    allowed_cidrs: list[str]
    l7policies: list[LbL7Policy]


class LbLoadBalancer(TypedDict):
    id: str
    revision: int             # what the agent reports back once applied
    admin_state_up: bool
    vip_port_id: str
    vip_address: str
    vip_mac: str
    vip_prefixlen: int
    gateway_ip: str | None    # the VIP subnet's gateway (members behind a router)
    mtu: int | None
    listeners: list[LbListener]
    pools: list[LbPool]


class LbDeleting(TypedDict):
    id: str
    revision: int


class LbaasState(TypedDict):
    host: str
    loadbalancers: list[LbLoadBalancer]
    # Load balancers of the host being deleted: the agent takes them down and
    # reports their revision, which lets the server remove them.
    deleting: list[LbDeleting]


class LbStatusReport(TypedDict):
    loadbalancer_id: str
    revision: int             # the revision applied (or that failed)
    error: str | None         # None: applied
    # member id -> ONLINE | ERROR | NO_MONITOR | OFFLINE (HAProxy's view)
    members: dict[str, str]
