"""The metadata agent's call on topic q-plugin (docs/rpc.md): which instance a
request comes from (services/metadata_lookup.py)."""

from __future__ import annotations

from typing import Any

import oslo_messaging
from sqlalchemy.orm import Session

from neutrino.contract.metadata import MetadataInstance
from neutrino.services.dns import PortDNS
from neutrino.services.metadata_lookup import find_instance


class MetadataEndpoint:
    target = oslo_messaging.Target(version="1.0")

    def __init__(self, core: Any) -> None:
        self.db = core.db
        # The hostname served is the port's dns_assignment, as the API shows it.
        self.port_dns = PortDNS(core.conf)

    def get_metadata_instance(self, context: Any, ip_address: str,
                              network_id: str | None = None,
                              router_id: str | None = None, **kwargs: Any
                              ) -> MetadataInstance | None:
        """The instance with `ip_address` on the network (or the router's interface
        networks) (contract.metadata: the arguments are a MetadataInstanceRequest);
        None when no single instance port has it."""
        def run(session: Session) -> MetadataInstance | None:
            return find_instance(session, ip_address, network_id=network_id,
                                 router_id=router_id, port_dns=self.port_dns)
        answer: MetadataInstance | None = self.db.run(run, write=False)
        return answer
