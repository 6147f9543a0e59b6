"""The Open vSwitch agent (neutrino-openvswitch-agent): ML2/OVS's L2 agent."""
