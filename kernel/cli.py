"""The ``crosslink`` command line: ``serve``, ``plugins``, and the commands plugins add.

Plugin commands are collected lazily, the first time the group lists or looks up a command,
so importing this module never loads a plugin.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import click

from .errors import StartupError
from .plugins import load_plugins
from .settings import Settings

log = logging.getLogger("crosslink.cli")


def _autoload_default() -> bool:
    return os.environ.get("CROSSLINK_DISABLE_PLUGIN_AUTOLOAD", "") not in ("1", "true", "yes")


class PluginCommandGroup(click.Group):
    """A click group that asks the installed plugins for their commands on first use."""

    _plugins_loaded = False

    def _load_plugin_commands(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        try:
            loaded = load_plugins("all", autoload=_autoload_default())
        except StartupError as exc:
            log.warning("plugin commands are unavailable: %s", exc)
            return
        for impl in loaded.pm.hook.crosslink_register_commands.get_hookimpls():
            try:
                impl.function(cli=self)
            except Exception as exc:  # one plugin's bad command must not break the CLI
                log.warning("plugin '%s' failed to add its commands: %s", impl.plugin_name, exc)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            self._load_plugin_commands()
        return super().get_command(ctx, cmd_name)


@click.group(cls=PluginCommandGroup)
@click.version_option(package_name="crosslink-server", prog_name="crosslink-server")
def cli() -> None:
    """crosslink-server: the coordination server for AI coding agents."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(name)s: %(message)s")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; non-loopback needs --token.")
@click.option("--port", default=3100, show_default=True, type=click.IntRange(0, 65535), help="TCP port (0 picks a free one).")
@click.option("--plugins", "plugin_spec", default="all", show_default=True, envvar="CROSSLINK_PLUGINS",
              help="Plugins to enable: all | issues,locks | all,-orchestrator.")
@click.option("--db", "db_url", default=None, envvar="CROSSLINK_DB",
              help="Database URL (default: sqlite of .crosslink/issues.db; or postgres://user@host/db).")
@click.option("--db-pool", "db_pool", default=None, type=click.IntRange(1, 200),
              help="PostgreSQL connections per instance (default 10).")
@click.option("--repo", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Repository to serve (default: found by walking up from the current directory).")
@click.option("--token", default=None, envvar="CROSSLINK_TOKEN", help="Bearer token required on /api and /ws.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Server config file with [plugins.<name>] sections (default .crosslink/server.toml).")
@click.option("--allowed-host", multiple=True, help="Extra Host name to accept (repeatable).")
@click.option("--allow-origin", multiple=True, help="Extra browser origin allowed to call the API (repeatable).")
@click.option("--max-body", default=10 * 1024 * 1024, show_default=True, type=click.IntRange(1024),
              help="Largest request body in bytes.")
@click.option("--header-timeout", default=10.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds a request's headers may take to arrive; then 408 and the connection closes.")
@click.option("--body-timeout", default=30.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds a request body may take to arrive; then 408.")
@click.option("--ws-queue-size", default=256, show_default=True, type=click.IntRange(1),
              help="Events buffered per WebSocket client before it gets a gap message.")
@click.option("--no-autoload", is_flag=True, help="Do not load third-party plugins from entry points.")
@click.option("--strict-plugins", is_flag=True, help="A third-party plugin that fails to import stops the server.")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))
def serve(host, port, plugin_spec, db_url, db_pool, repo, token, config_file, allowed_host, allow_origin,
          max_body, header_timeout, body_timeout, ws_queue_size, no_autoload, strict_plugins, log_level) -> None:
    """Serve the REST API and the WebSocket for this repository."""
    from .app import create_app, kernel_of
    from .server import run

    logging.getLogger().setLevel(log_level.upper())
    try:
        settings = Settings.for_repo(
            repo,
            db_url=db_url,
            db_pool=db_pool,
            host=host,
            port=port,
            plugins=plugin_spec,
            token=token or None,
            autoload=not no_autoload and _autoload_default(),
            strict_plugins=strict_plugins,
            max_body_bytes=max_body,
            header_timeout=header_timeout,
            body_timeout=body_timeout,
            ws_queue_size=ws_queue_size,
            allowed_hosts=tuple(allowed_host),
            allowed_origins=tuple(allow_origin),
            config_file=config_file,
        )
        app = create_app(settings)
    except StartupError as exc:
        raise click.ClickException(str(exc)) from None
    enabled = kernel_of(app).plugins.order
    sys.exit(run(app, settings, enabled, log_level))


@cli.command(name="plugins")
@click.option("--plugins", "plugin_spec", default="all", show_default=True, envvar="CROSSLINK_PLUGINS",
              help="Selection to show as enabled.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--no-autoload", is_flag=True, help="Ignore third-party plugins.")
def plugins_command(plugin_spec: str, as_json: bool, no_autoload: bool) -> None:
    """List every plugin: name, source, version, enabled, hooks it implements."""
    try:
        loaded = load_plugins(plugin_spec, autoload=not no_autoload and _autoload_default())
    except StartupError as exc:
        raise click.ClickException(str(exc)) from None
    records = loaded.all_records()
    if as_json:
        click.echo(json.dumps([record.as_dict() for record in records], indent=2))
        return
    click.echo(f"{'PLUGIN':<14} {'STATE':<9} {'VERSION':<10} SOURCE")
    for record in records:
        state = "enabled" if record.enabled else ("FAILED" if record.error else "disabled")
        extra = " (replaces built-in)" if record.replaces_builtin and record.enabled else ""
        click.echo(f"{record.name:<14} {state:<9} {record.version:<10} {record.source}{extra}")
        if record.info and record.info.requires:
            click.echo(f"{'':<14} requires: {', '.join(record.info.requires)}")
        if record.hooks:
            click.echo(f"{'':<14} hooks: {', '.join(record.hooks)}")
        if record.error:
            click.echo(f"{'':<14} error: {record.error}")


def _database_url(value: str) -> str:
    """A database URL; a plain path names an SQLite file."""
    if "://" in value:
        return value
    return f"sqlite://{Path(value).expanduser().resolve()}"


def _app_for(db_url: str, plugin_spec: str, repo: Path | None, pool: int | None = None):
    from .app import create_app, kernel_of

    settings = Settings.for_repo(repo, db_url=db_url, plugins=plugin_spec, autoload=_autoload_default(),
                                 db_pool=pool)
    return kernel_of(create_app(settings))


@cli.group(name="db")
def db_group() -> None:
    """Team-server database commands: apply migrations, copy between SQLite and PostgreSQL."""


@db_group.command(name="migrate")
@click.option("--db", "db_url", required=True, envvar="CROSSLINK_DB", help="Database URL (or an SQLite file path).")
@click.option("--plugins", "plugin_spec", default="all", show_default=True, envvar="CROSSLINK_PLUGINS",
              help="Plugins whose tables to create.")
@click.option("--repo", type=click.Path(file_okay=False, path_type=Path), default=None, help="Repository.")
def db_migrate(db_url: str, plugin_spec: str, repo: Path | None) -> None:
    """Create or upgrade the tables of the CLI and of every enabled plugin, without serving."""
    import asyncio

    try:
        kernel = _app_for(_database_url(db_url), plugin_spec, repo)
        applied = asyncio.run(kernel.migrate())
    except StartupError as exc:
        raise click.ClickException(str(exc)) from None
    if applied:
        click.echo(f"applied {len(applied)} migration(s): {', '.join(applied)}")
    else:
        click.echo("the database is up to date")


@db_group.command(name="copy")
@click.option("--from", "source", required=True, help="Source database URL (or SQLite file path).")
@click.option("--to", "target", required=True, help="Target database URL (or SQLite file path).")
@click.option("--replace", is_flag=True, help="Empty the target's tables first instead of refusing a target with data.")
@click.option("--plugins", "plugin_spec", default="all", show_default=True, envvar="CROSSLINK_PLUGINS",
              help="Plugins whose tables the target gets.")
@click.option("--repo", type=click.Path(file_okay=False, path_type=Path), default=None, help="Repository.")
def db_copy(source: str, target: str, replace: bool, plugin_spec: str, repo: Path | None) -> None:
    """Copy every table of the CLI and the server, ids kept, between SQLite and PostgreSQL."""
    import asyncio

    from .storage.copy import copy_database

    source_url, target_url = _database_url(source), _database_url(target)
    if source_url == target_url:
        raise click.ClickException("--from and --to name the same database")
    bar = None

    def announce(total: int) -> None:
        nonlocal bar
        bar = click.progressbar(length=max(total, 1), label="copying rows", file=sys.stderr)
        bar.__enter__()

    def progress(table: str, rows: int) -> None:
        if bar is not None:
            bar.update(rows)

    try:
        kernel = _app_for(target_url, plugin_spec, repo)
        asyncio.run(kernel.migrate())
        derived = [table for _, spec in kernel.storage_specs for table in spec.derived]
        reports = asyncio.run(copy_database(
            source_url, target_url, replace=replace, derived=derived, progress=progress, announce=announce
        ))
    except StartupError as exc:
        raise click.ClickException(str(exc)) from None
    except Exception as exc:  # a driver error: say what it was, without a traceback
        raise click.ClickException(f"the copy failed and the target was left unchanged: "
                                   f"{type(exc).__name__}: {exc}") from None
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    width = max((len(r.name) for r in reports), default=5)
    click.echo(f"{'TABLE':<{width}}  {'ROWS':>10}  CHECK")
    for report in reports:
        click.echo(f"{report.name:<{width}}  {report.target_rows:>10}  "
                   f"{'ok' if report.verified else 'MISMATCH'}")
    total = sum(r.target_rows for r in reports)
    click.echo(f"copied {total} rows in {len(reports)} tables; every count matches the source")


def main() -> None:
    cli()
