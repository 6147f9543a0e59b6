"""The Linux bridge L2 agent (bridges, VXLAN with l2population, taps)."""
