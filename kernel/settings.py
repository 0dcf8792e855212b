"""Server settings, and finding the repository whose ``.crosslink/`` the server serves."""

from __future__ import annotations

import ipaddress
import subprocess
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from .errors import StartupError
from .gitenv import git_environment
from .timeutil import Clock

CROSSLINK_DIR = ".crosslink"
DB_FILE = "issues.db"
SERVER_CONFIG_FILE = "server.toml"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def find_repo_root(start: Path) -> Path:
    """The directory that holds (or should hold) ``.crosslink/``.

    Walks up from ``start`` to the first directory with ``.crosslink/``. Failing that, the
    root of the git repository around ``start`` (the main working tree when ``start`` is in a
    linked worktree). Failing that, ``start`` itself.
    """
    return _locate_repo(start)[0]


def _locate_repo(start: Path) -> tuple[Path, Path | None]:
    """:func:`find_repo_root`, and the main working tree's root when git was asked for it on
    the way (so :attr:`Settings.main_repo_root` need not ask again)."""
    start = start.resolve()
    if not start.is_dir():
        raise StartupError(f"--repo {start} is not a directory")
    for directory in (start, *start.parents):
        if (directory / CROSSLINK_DIR).is_dir():
            return directory, None
    main_root = _main_git_root(start)
    return (main_root, main_root) if main_root else (start, None)


def _main_git_root(start: Path) -> Path | None:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--path-format=absolute", "--git-common-dir"],
            cwd=start,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
            env=git_environment(),
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    common = Path(result.stdout.strip())
    return common.parent if common.name == ".git" else None


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class Settings:
    """Everything one server instance is configured with."""

    repo_root: Path
    db_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 3100
    plugins: str = "all"
    token: str | None = None
    autoload: bool = True
    strict_plugins: bool = False
    max_body_bytes: int = 10 * 1024 * 1024
    #: Seconds a request's headers may take from its first byte; then a 408 and the connection
    #: is closed (a connection that sends nothing at all is closed after as long).
    header_timeout: float = 10.0
    #: Seconds a request body may take to arrive once the headers are in; then a 408.
    body_timeout: float = 30.0
    ws_queue_size: int = 256
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    config_file: Path | None = None
    #: PostgreSQL connection pool size per instance (``--db-pool``); ``None``: the default 10.
    db_pool: int | None = None
    #: Event log retention (``[events]`` in the config file): older events are pruned.
    event_retention_seconds: float = 7 * 24 * 3600
    event_retention_count: int = 100_000
    clock: Clock = field(default_factory=Clock)
    plugin_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The config file's other top-level tables (``[hub]``, ...), for the shared libraries that
    #: are no plugin and so have no ``[plugins.<name>]`` section; each validates its own.
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The URL the server really listens on (``http://127.0.0.1:<port>``, also for ``--port 0``),
    #: set by the server once its socket is bound; ``None`` before that and for in-process apps.
    listening_url: str | None = None

    @classmethod
    def for_repo(cls, start: Path | str | None = None, **overrides: Any) -> Settings:
        """Settings for the repository around ``start`` (default: the current directory)."""
        root, main_root = _locate_repo(Path(start) if start else Path.cwd())
        settings = cls(repo_root=root, **overrides)
        if main_root is not None:
            settings.main_repo_root = main_root  # what git answered already (a cached_property)
        data = settings._read_config_file()
        settings.plugin_settings = settings._plugin_tables(data)
        settings._apply_event_settings(data.get("events", {}))
        settings.sections = {k: v for k, v in data.items() if k not in ("plugins", "events") and isinstance(v, dict)}
        return settings

    @property
    def crosslink_dir(self) -> Path:
        return self.repo_root / CROSSLINK_DIR

    @cached_property
    def main_repo_root(self) -> Path:
        """The main working tree's root, also when ``repo_root`` is a linked git worktree.

        The crosslink CLI keeps the hub and knowledge caches there
        (``<main root>/.crosslink/.hub-cache``), whichever worktree a command runs in.
        """
        return _main_git_root(self.repo_root) or self.repo_root

    @property
    def database_url(self) -> str:
        if self.db_url:
            return self.db_url
        return f"sqlite://{(self.crosslink_dir / DB_FILE).resolve()}"

    @property
    def binds_loopback(self) -> bool:
        return is_loopback(self.host)

    def check(self) -> None:
        """Refuse settings that would be unsafe or cannot work."""
        if not self.binds_loopback and not self.token:
            raise StartupError(
                f"binding to {self.host} exposes the server beyond this machine, so it needs a "
                "bearer token: pass --token <secret> or set CROSSLINK_TOKEN"
            )
        if self.token is not None and len(self.token) < 16:
            raise StartupError("the bearer token must be at least 16 characters long")
        if not 0 <= self.port <= 65535:
            raise StartupError(f"--port {self.port} is not a TCP port")
        if not (self.header_timeout > 0 and self.body_timeout > 0):
            raise StartupError("--header-timeout and --body-timeout must be positive numbers of seconds")

    @property
    def config_path(self) -> Path:
        return self.config_file or self.crosslink_dir / SERVER_CONFIG_FILE

    def _read_config_file(self) -> dict[str, Any]:
        path = self.config_path
        if not path.exists():
            if self.config_file is not None:
                raise StartupError(f"config file {path} does not exist")
            return {}
        try:
            return tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise StartupError(f"cannot read config file {path}: {exc}") from exc

    def _plugin_tables(self, data: dict[str, Any]) -> dict[str, dict[str, Any]]:
        plugins = data.get("plugins", {})
        if not isinstance(plugins, dict) or not all(isinstance(v, dict) for v in plugins.values()):
            raise StartupError(f"{self.config_path}: [plugins.<name>] sections must be tables")
        return plugins

    def _apply_event_settings(self, events: Any) -> None:
        """``[events] retention_days = 7, retention_count = 100000``."""
        if not isinstance(events, dict):
            raise StartupError(f"{self.config_path}: [events] must be a table")
        unknown = sorted(set(events) - {"retention_days", "retention_count"})
        if unknown:
            raise StartupError(f"{self.config_path}: [events] has unknown key(s): {', '.join(unknown)}")
        days = events.get("retention_days", self.event_retention_seconds / 86400)
        count = events.get("retention_count", self.event_retention_count)
        if isinstance(days, bool) or not isinstance(days, (int, float)) or days <= 0:
            raise StartupError(f"{self.config_path}: [events] retention_days must be a positive number")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise StartupError(f"{self.config_path}: [events] retention_count must be a positive integer")
        self.event_retention_seconds = float(days) * 86400
        self.event_retention_count = count
