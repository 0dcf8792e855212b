"""Names vulture reports as unused that something other than Python code reads.

Each group says who: the plugin interface (used by third-party plugins and tests), frameworks
that call methods by name (Quart, Werkzeug, uvicorn), Jinja templates reading view objects,
pydantic models read through their schema, and Protocol classes that exist to document a
service's contract. Read by ``vulture`` (see ``[tool.vulture]`` in pyproject.toml).
"""

# ruff: noqa: B018, F821
_ = object()

# kernel.PluginKernel: promised to every plugin, used by third-party ones and the tests
_.is_enabled
_.provider_of  # ServiceRegistry: which plugin provides a service (tests, plugin authors)
_.client_count  # Broadcaster: clients connected (tests)
_.advance  # Clock: tests move the server's clock

# called by the frameworks by name
_.raise_routing_exception  # Quart
_.merge_slashes  # Werkzeug's Map
_.keep_alive  # uvicorn's HttpToolsProtocol
_.send_400_response  # uvicorn's HttpToolsProtocol
_.total_requests  # uvicorn's server state

# pydantic models in modules that are not schemas.py: fields read through the model
_.tracking_mode
_.signing_enforcement
_.intervention_tracking
_.auto_steal_stale_locks
_.agent_ids
_.CONTROL_RANGES  # kernel.validation: used by schemas.py modules, which vulture does not read

# read by the dashboard's Jinja templates
_.href
_.wide
_.box_w
_.box_h
_.nav
_.login
_.first_row
_.last_row
_.dashboard_started
_.dashboard_event_cursor

# kept for whoever reads them while debugging: the command of a GitError, whether the hub
# watcher has filesystem notifications attached, which uuids a hub scan found on disk
_.args_
_.watching
_.uuids_on_disk

# Protocol classes documenting the services other plugins call (plugins/*/contract.py)
_.AgentsServiceContract
_.OrchestratorAPI
_.SessionsAPI
_.UsageAPI
_.IssuesAPI
_.LocksServiceContract
_.get_milestone  # IssuesAPI: the contract other plugins call
_.Decomposer
_.Launcher
