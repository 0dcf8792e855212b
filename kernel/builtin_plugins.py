"""The built-in plugins: the one place where the kernel lists them.

Maps each plugin's canonical name to the module that holds its hook implementations. The
kernel imports these modules only when the plugin is selected; nothing else in the kernel
names a plugin.
"""

BUILTIN_PLUGINS: dict[str, str] = {
    "issues": "plugins.issues.hooks",
    "agents": "plugins.agents.hooks",
    "knowledge": "plugins.knowledge.hooks",
    "locks": "plugins.locks.hooks",
    "sessions": "plugins.sessions.hooks",
    "usage": "plugins.usage.hooks",
}
