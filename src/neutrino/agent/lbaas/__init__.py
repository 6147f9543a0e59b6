"""The load balancer agent (issue 16): HAProxy per load balancer namespace."""
