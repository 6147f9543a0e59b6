"""The security-group firewall of the Linux bridge agent: iptables (`-m physdev`
on bridged traffic, br_netfilter) and ipset. `render` is pure (desired state in,
rules and sets out); `driver` applies a render to a network namespace."""
