"""Shared by every agent: kernel access, main loop, bus, options."""
