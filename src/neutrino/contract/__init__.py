"""The server <-> agents contract: the one source of truth for what travels on the
bus (docs/rpc.md describes it in prose, with examples).

Both sides import it; it imports nothing server-side (no services, db, api or rpc),
so an agent depends on `neutrino.agent` and this package only.

* `topics`: queue names and agent types; `bus`: the transport and its options, and
  the agents' state reporter; `options`: options both sides register.
* `names`: device and namespace names (``tap<port[:11]>``, ``brq``, ``vxlan-``,
  ``qdhcp-``, ``ns-``, ``qrouter-``, ``qr-``, ``qg-``).
* One module per kind of payload, as TypedDicts (plain JSON on the wire): `l2`,
  `dhcp`, `l3` desired states (`kinds` lists them), `agent_state` (report_state),
  `metadata` (get_metadata_instance), `notifications` (server -> agents), `common`
  (shared pieces), `qos` (the rules in the l2 ports).

A new kind of state (metadata, QoS, FWaaS, ...) is a module here with its
TypedDicts, an entry in `kinds`, and a builder in neutrino/services/desired_state/.
A key an older server may omit is ``NotRequired`` and read with ``.get()`` (with a
comment saying so); every other key is always sent.
"""
