"""The ``locks`` plugin: who holds which issue, read from the hub and claimed atomically here.

It owns the lock routes of the contract (``GET /locks``, ``/locks/stale``), atomic claims with
fencing tokens (``POST /locks/:issue_id/claim|release|steal``, table ``server_locks``), the
single staleness rule applied to every lock, and the ``lock_changed`` events of the ``locks``
channel (API claims and releases, and changes seen in the hub checkout). It requires the
``issues`` plugin (a lock is on an existing issue; a steal is recorded as a comment) and not
``agents``: heartbeats for staleness come from the ``agents`` service when it is enabled and
from the hub checkout (:mod:`plugins.hub`) always.
"""
