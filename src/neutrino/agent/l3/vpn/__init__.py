"""VPNaaS (issue 16): the L3 agent's IPsec site-to-site extension, strongSwan's
charon per router namespace (docs/agents.md, "VPNaaS")."""
