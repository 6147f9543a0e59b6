"""The message bus between the server and the agents (oslo.messaging).

`transport` builds the bus from ``transport_url`` (``fake://``: in-process, reaching
only this process; ``rabbit://``: RabbitMQ, for several workers or hosts), `topics`
names the queues, `endpoints` holds what the server answers, `server` runs it in the
API process and `client` is what an agent uses. docs/rpc.md lists every message.
"""

import warnings

# oslo.messaging still imports its (deprecated) eventlet support; the warnings it
# prints on import say nothing about Neutrino, which uses threads.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import oslo_messaging  # noqa: F401
