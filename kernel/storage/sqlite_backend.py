"""Tortoise's SQLite client, with write transactions that take the lock up front.

Tortoise begins SQLite transactions with a deferred ``BEGIN``. When another process (the
crosslink CLI, another server) commits between this transaction's first read and its first
write, SQLite refuses the upgrade with ``SQLITE_BUSY_SNAPSHOT`` ("database is locked") at once,
and no busy timeout helps. ``BEGIN IMMEDIATE`` takes the write lock when the transaction starts,
waiting (``busy_timeout``) for other writers instead of failing. Tortoise loads this module as
a connection engine: the config names it, nothing is patched.
"""

from __future__ import annotations

import sqlite3

from tortoise.backends.base.client import TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.exceptions import TransactionManagementError


class ImmediateTransactionWrapper(SqliteTransactionWrapper):
    """A transaction that starts with ``BEGIN IMMEDIATE``."""

    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc


class ImmediateSqliteClient(SqliteClient):
    """The SQLite client whose top-level transactions are ``BEGIN IMMEDIATE``."""

    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(ImmediateTransactionWrapper(self), self._lock)


client_class = ImmediateSqliteClient
