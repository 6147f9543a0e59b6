"""``nft list ruleset`` cut into its tables (privileged.split_ruleset): the L3 agent
reads a router namespace's NAT and firewall tables in one process."""

from __future__ import annotations

from neutrino.agent.common import privileged
from neutrino.agent.l3 import fwaas, nat

RULESET = """table ip neutrino-nat {
\tcomment "neutrino sha256=0123456789abcdef"
\tchain prerouting {
\t\ttype nat hook prerouting priority dstnat; policy accept;
\t\tip daddr 172.24.4.76 dnat to 10.0.0.117
\t}
}
table inet neutrino-fwaas {
\tcomment "neutrino sha256=fedcba9876543210"
\tchain from-ports {
\t\ttype filter hook forward priority filter - 1; policy accept;
\t\tiifname vmap { "qr-aaaaaaaa-11" : drop }
\t}
}
table ip neutrino-metering {
\tset labels {
\t\ttype ipv4_addr
\t\telements = { 10.0.0.1, 10.0.0.2 }
\t}
}
"""


def test_each_table_as_nft_list_table_prints_it() -> None:
    tables = privileged.split_ruleset(RULESET)
    assert sorted(tables) == [("inet", "neutrino-fwaas"), ("ip", "neutrino-metering"),
                              ("ip", "neutrino-nat")]
    assert "".join(tables.values()) == RULESET
    listing = tables[(nat.FAMILY, nat.TABLE)]
    assert nat.comment(listing) == "neutrino sha256=0123456789abcdef"
    assert nat.mappings(listing) == {"172.24.4.76": "10.0.0.117"}
    firewall = tables[(fwaas.FAMILY, fwaas.TABLE)]
    assert nat.comment(firewall) == "neutrino sha256=fedcba9876543210"
    assert fwaas.listed_ports(firewall) == {"qr-aaaaaaaa-11": fwaas.port_key("drop",
                                                                             "accept")}


def test_an_empty_ruleset_has_no_table() -> None:
    assert privileged.split_ruleset("") == {}
