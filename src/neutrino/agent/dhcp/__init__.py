"""The DHCP agent: one dnsmasq per network in namespace ``qdhcp-<network>``."""
