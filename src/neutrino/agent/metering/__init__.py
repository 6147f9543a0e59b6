"""The metering agent (issue 14): traffic counters per metering label."""
