"""The ``agents`` plugin: who is working, from which machine, on what, and how recently.

It owns the agent routes of the contract (``GET /agents``, ``/agents/:id``,
``/agents/:id/status``), the server's own heartbeat store (``POST /agents/:id/heartbeat``, table
``server_agent_heartbeats``), and the watcher that turns heartbeats into the ``heartbeat`` and
``agent_status`` events of the ``agents`` channel, including status changes caused by time
alone. Agents driven by the crosslink CLI are read from the hub checkout through the shared
:mod:`plugins.hub` library. It requires no other plugin; when ``locks`` is enabled it asks that
plugin's service for the server's locks.
"""
