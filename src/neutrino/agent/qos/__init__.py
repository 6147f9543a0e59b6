"""QoS on the Linux bridge agent's taps: tc bandwidth limits and nftables DSCP
marking (plan.py pure, driver.py observes and applies through agent.common.privileged)."""
