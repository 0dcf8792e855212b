"""The ``orchestrator`` plugin: a design document becomes a plan of phases and stages, and the
plan really runs.

Decomposers (``markdown`` without an LLM, ``command`` for an LLM CLI such as ``claude``, and
any a third party adds through :mod:`plugins.orchestrator.hookspecs`) turn a document into a
plan; every plan is validated the same way (:mod:`.plan`) and stored in the database. Execute
creates the tracking milestones and issues through the ``issues`` service, and a singleton
worker (:mod:`.driver`) launches each ready stage through a launcher (``command``, ``manual``
or a third party's), gates phases, and records every transition, durably across restarts. It
requires the ``issues`` plugin.
"""
