"""PostgreSQL for the benchmark: the generated SQLite data copied into a scratch database once
(``crosslink db copy``), and a fresh copy of it for each server run (``CREATE DATABASE ...
TEMPLATE``, a file copy: seconds, where a row copy takes minutes at 100k issues).

The server is the one of ``--postgres URL`` (default ``postgres://postgres@127.0.0.1:5432``);
the scratch databases are named ``crosslink_bench_*`` and dropped at the end.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

from .servers import BIN

DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432"
#: Rows of these sections measured on PostgreSQL go into the results as ``pg:<section>``.
PREFIX = "pg:"


def _url(server: str, database: str) -> str:
    return f"{server.rstrip('/')}/{database}"


async def _admin(server: str, *statements: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(_url(server, "postgres"))
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def _in(server: str, database: str, statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(_url(server, database))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def available(server: str) -> str | None:
    """``None`` when the server answers, else why not."""
    try:
        asyncio.run(_admin(server, "SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means: no PostgreSQL runs
        return f"{type(exc).__name__}: {exc}"
    return None


class Scratch:
    """The pristine copy of one generated repository's data, and fresh databases made from it."""

    def __init__(self, server: str, n: int) -> None:
        self.server, self.n = server, n
        self.pristine = f"crosslink_bench_pristine_{n}"
        self.live = f"crosslink_bench_{n}"

    @property
    def url(self) -> str:
        """The database the server under test serves."""
        return _url(self.server, self.live)

    def load(self, sqlite_file: Path, repo: Path, log: Path) -> float:
        """Copy ``sqlite_file`` into the pristine database (migrations, rows, indexes, ANALYZE);
        return the seconds it took."""
        began = time.perf_counter()
        asyncio.run(_admin(self.server, f"DROP DATABASE IF EXISTS {self.live}",
                           f"DROP DATABASE IF EXISTS {self.pristine}", f"CREATE DATABASE {self.pristine}"))
        with log.open("ab") as out:
            subprocess.run([str(BIN / "crosslink"), "db", "copy", "--from", str(sqlite_file),
                            "--to", _url(self.server, self.pristine), "--repo", str(repo)],
                           check=True, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        asyncio.run(_in(self.server, self.pristine, "VACUUM ANALYZE"))
        return time.perf_counter() - began

    def fresh(self) -> str:
        """A new database with the pristine data (no server may be using the old one)."""
        asyncio.run(_admin(self.server, f"DROP DATABASE IF EXISTS {self.live}",
                           f"CREATE DATABASE {self.live} TEMPLATE {self.pristine}"))
        return self.url

    def drop(self) -> None:
        asyncio.run(_admin(self.server, f"DROP DATABASE IF EXISTS {self.live}",
                           f"DROP DATABASE IF EXISTS {self.pristine}"))
