"""The OpenFlow security-group firewall of the Open vSwitch agent
(``firewall_driver = openvswitch``): `flows` is pure (the "l2" desired state and
each port's ofport and local VLAN in, OpenFlow flows out, grouped by cookie);
`driver` replaces the changed groups on br-int in one ``ovs-ofctl --bundle``;
`ofctl` is its privileged door."""
