"""ML2: type drivers, network segments and provider networks."""
