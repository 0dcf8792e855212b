"""The built-in plugins: the one place where the kernel lists them.

Maps each plugin's canonical name to the module that holds its hook implementations. The
kernel imports these modules only when the plugin is selected; nothing else in the kernel
names a plugin.

``INTERFACES`` are the built-ins that present the other plugins to people and agents (pages,
tools) rather than add data of their own: they follow any selection, so
``--plugins issues,locks`` serves the dashboard's and the MCP tools' issues and locks parts, and
are left out only by name (``--plugins issues,locks,-dashboard``).
"""

BUILTIN_PLUGINS: dict[str, str] = {
    "issues": "plugins.issues.hooks",
    "agents": "plugins.agents.hooks",
    "knowledge": "plugins.knowledge.hooks",
    "locks": "plugins.locks.hooks",
    "mcp": "plugins.mcp.hooks",
    "sessions": "plugins.sessions.hooks",
    "sync": "plugins.sync.hooks",
    "dashboard": "plugins.dashboard.hooks",
    "orchestrator": "plugins.orchestrator.hooks",
    "usage": "plugins.usage.hooks",
}

INTERFACES: frozenset[str] = frozenset({"dashboard", "mcp"})
