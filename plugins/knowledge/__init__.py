"""The knowledge plugin: the shared knowledge pages of the crosslink CLI, over HTTP.

It owns the contract's Knowledge Pages routes (list, read, create, search) and adds update
(PUT/PATCH with version checks) and delete. Pages are ``<slug>.md`` files with YAML front matter
in the ``crosslink/knowledge`` branch, checked out at ``.crosslink/.knowledge-cache`` exactly as
the crosslink CLI lays it out; every change is one git commit there (pushed by the sync plugin, not here). It also
contributes ``knowledge`` hits to the unified ``GET /search``, publishes ``knowledge_changed``
on the ``knowledge`` channel and provides the ``knowledge`` service. It stores nothing in the
database and needs no other plugin.
"""
