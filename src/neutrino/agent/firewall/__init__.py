"""The security-group firewall of the Linux bridge agent: iptables (`-m physdev`
on bridged traffic, br_netfilter) and ipset, plus an nftables bridge-family table
against ARP and MAC spoofing. `render` and `arp` are pure (desired state in, rules,
sets and table out); `driver` applies them to a network namespace."""
