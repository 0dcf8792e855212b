"""crosslink-server's kernel: a small Quart core that plugins extend through pluggy hooks.

Plugins import what they need from here: the ``hookimpl`` marker, the declarations they
return from hooks (``PluginInfo``, ``StorageSpec``, ``Migration``, ``ConfigSection``,
``Event``, ``SearchHit``, ``Worker``) and the errors they raise (``APIError``, ``StartupError``).
``PluginKernel`` is the part of the kernel a plugin may use. Route helpers live in
:mod:`kernel.api`.
"""

from .errors import APIError, StartupError
from .events import Event
from .hookspecs import hookimpl
from .interface import PluginKernel
from .plugin_info import ConfigSection, PluginInfo
from .search import SearchHit
from .storage.spec import Migration, StorageSpec
from .version import __version__
from .workers import Worker, WorkerContext

__all__ = [
    "APIError",
    "ConfigSection",
    "Event",
    "Migration",
    "PluginInfo",
    "PluginKernel",
    "SearchHit",
    "StartupError",
    "StorageSpec",
    "Worker",
    "WorkerContext",
    "__version__",
    "hookimpl",
]
