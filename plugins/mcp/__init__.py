"""The ``mcp`` plugin: agents use the server as tools, through the Model Context Protocol.

It serves the protocol's streamable HTTP transport at ``/mcp`` of ``crosslink serve`` (mounted
through the kernel's ``crosslink_register_asgi_apps`` hook, behind the API's Host / Origin /
token guards) and adds ``crosslink mcp`` for clients that only speak stdio (a proxy to a
running server, or the repository served in-process). Its tools call the other plugins'
services (``kernel.services.get(...)``), never the HTTP API; each tool exists only while the
plugin behind it is enabled. Built on the official ``mcp`` SDK's low-level server.
"""

#: Where ``crosslink serve`` mounts the streamable HTTP endpoint.
MOUNT = "/mcp"
