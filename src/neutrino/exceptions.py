"""Neutron-style errors: each carries the HTTP status and the `type` clients see.

The API layer renders any `NeutronError` as
``{"NeutronError": {"type": ..., "message": ..., "detail": ""}}``.
"""

from __future__ import annotations


class NeutronError(Exception):
    status = 500
    message = "An unknown exception occurred."

    def __init__(self, message: str | None = None, **kwargs: object) -> None:
        self.kwargs = kwargs
        if message is None:
            message = self.message % kwargs if kwargs else self.message
        self.msg = message
        super().__init__(message)

    @property
    def type(self) -> str:
        return type(self).__name__


class BadRequest(NeutronError):
    status = 400
    message = "Bad %(resource)s request: %(msg)s."


class HTTPBadRequest(BadRequest):
    """Request-shape errors (body, query string); upstream names them HTTPBadRequest."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


class InvalidInput(BadRequest):
    message = "Invalid input for operation: %(error_message)s."

    def __init__(self, error_message: str) -> None:
        super().__init__(error_message=error_message.rstrip("."))


class NotAuthorized(NeutronError):
    status = 403
    message = "Not authorized."


class PolicyNotAuthorized(NotAuthorized):
    message = "%(action)s is disallowed by policy"


class NotFound(NeutronError):
    status = 404
    message = "An unknown exception occurred."


class HTTPNotFound(NotFound):
    message = "The resource could not be found."


class Conflict(NeutronError):
    status = 409


class InUse(Conflict):
    message = "The resource is in use."


class PreconditionFailed(NeutronError):
    status = 412


class ServiceUnavailable(NeutronError):
    status = 503
    message = "The service is unavailable."


# -- resources ---------------------------------------------------------------

class NetworkNotFound(NotFound):
    message = "Network %(net_id)s could not be found."


class SubnetNotFound(NotFound):
    message = "Subnet %(subnet_id)s could not be found."


class PortNotFound(NotFound):
    message = "Port %(port_id)s could not be found."


class TagNotFound(NotFound):
    message = "Tag %(tag)s could not be found."


class NetworkMTUSubnetConflict(Conflict):
    message = "MTU of %(net_id)s is not valid, subnet requires a minimum of %(mtu)s"


class NetworkInUse(InUse):
    message = (
        "Unable to complete operation on network %(net_id)s. There are one or more "
        "ports still in use on the network, id for these ports is: %(port_ids)s."
    )


class SubnetInUse(InUse):
    message = (
        "Unable to complete operation on subnet %(subnet_id)s: One or more ports have "
        "an IP allocation from this subnet."
    )


class PortInUse(InUse):
    message = (
        "Unable to complete operation on port %(port_id)s for network %(net_id)s. "
        "Port already has an attached device %(device_id)s."
    )


class MacAddressInUse(InUse):
    message = (
        "Unable to complete operation for network %(net_id)s. "
        "The mac address %(mac)s is in use."
    )


class IpAddressInUse(InUse):
    message = (
        "Unable to complete operation for network %(net_id)s. "
        "The IP address %(ip_address)s is in use."
    )


class IpAddressAlreadyAllocated(Conflict):
    message = "IP address %(ip)s already allocated in subnet %(subnet_id)s"


class IpAddressGenerationFailure(Conflict):
    message = "No more IP addresses available on network %(net_id)s."


class MacAddressGenerationFailure(ServiceUnavailable):
    message = "Unable to generate unique mac on network %(net_id)s."


class InvalidIpForSubnet(BadRequest):
    message = "IP address %(ip_address)s is not a valid IP for the specified subnet."


class InvalidIpForNetwork(BadRequest):
    message = (
        "IP address %(ip_address)s is not a valid IP for any of the subnets on the "
        "specified network."
    )


class InvalidAllocationPool(BadRequest):
    message = "The allocation pool %(pool)s is not valid."


class OverlappingAllocationPools(Conflict):
    message = (
        "Found overlapping allocation pools: %(pool_1)s %(pool_2)s for subnet "
        "%(subnet_cidr)s."
    )


class OutOfBoundsAllocationPool(BadRequest):
    message = "The allocation pool %(pool)s spans beyond the subnet cidr %(subnet_cidr)s."


class GatewayConflictWithAllocationPools(InUse):
    message = "Gateway ip %(ip_address)s conflicts with allocation pool %(pool)s."


class GatewayIpInUse(InUse):
    message = ("Current gateway ip %(ip_address)s already in use by port %(port_id)s. "
               "Unable to update.")


class HostRoutesExhausted(BadRequest):
    message = (
        "Unable to complete operation for %(subnet_id)s. The number of host routes "
        "exceeds the limit %(quota)s."
    )


class DNSNameServersExhausted(BadRequest):
    message = (
        "Unable to complete operation for %(subnet_id)s. The number of DNS nameservers "
        "exceeds the limit %(quota)s."
    )


class FixedIPsExhausted(BadRequest):
    message = "Exceeded maximum amount of fixed ips per port."


class OverQuota(Conflict):
    message = "Quota exceeded for resources: %(overs)s."


class InvalidQuotaValue(Conflict):
    message = "Change would make usage less than 0 for the following resources: %(unders)s."


class QuotaResourceUnknown(NotFound):
    message = "Unknown quota resources %(unknown)s."


class RevisionNumberConstraintFailed(PreconditionFailed):
    message = "Constrained to %(expected)s, but current revision is %(current)s"


class DBRetryExhausted(ServiceUnavailable):
    message = "The request could not be completed because of concurrent changes; retry it."


class DatabaseUnavailable(ServiceUnavailable):
    """The database is out of reach (or a transaction outlived its time bound)."""

    message = "The service is temporarily unavailable; retry the request later."
    retry_after = 5  # seconds, sent as Retry-After

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class DBDuplicateEntry(Conflict):
    """A unique key refused the request's row and a retry changed nothing: the
    request itself duplicates something (not a race)."""

    message = "The request conflicts with an existing resource."


class DBReferenceNotFound(NotFound):
    """A row the request refers to is gone (deleted by a concurrent request)."""

    message = "A resource the request refers to does not exist."


class DBReferenceInUse(InUse):
    """A row the request deletes is still referenced (created concurrently)."""
