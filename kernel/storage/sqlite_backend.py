"""Tortoise's SQLite client, with write transactions that take the lock up front.

Tortoise begins SQLite transactions with a deferred ``BEGIN``. When another process (the
crosslink CLI, another server) commits between this transaction's first read and its first
write, SQLite refuses the upgrade with ``SQLITE_BUSY_SNAPSHOT`` ("database is locked") at once,
and no busy timeout helps. ``BEGIN IMMEDIATE`` takes the write lock when the transaction starts,
waiting (``busy_timeout``) for other writers instead of failing. Tortoise loads this module as
a connection engine: the config names it, nothing is patched.

Entering a transaction is also made safe to interrupt. Tortoise takes the connection's lock and
then runs ``BEGIN``; if that fails or the task is cancelled there (a client that disconnects
while the server waits for the write lock), the lock was never given back and the ``BEGIN``
still ran in aiosqlite's thread: every later query of the server waited forever and the file
stayed write-locked for the CLI. Here a failed start is undone: a rollback is queued behind
whatever ``BEGIN`` left running, then the lock is released. A commit that has begun runs to its
end even when the task is cancelled meanwhile, and a commit that fails is rolled back rather
than left open for the next ``BEGIN`` to commit.
"""

from __future__ import annotations

import contextlib
import sqlite3

from tortoise.backends.base.client import TransactionalDBClient, TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.connection import get_connections
from tortoise.exceptions import TransactionManagementError

from .cancellation import finish_even_if_cancelled


class ImmediateTransactionWrapper(SqliteTransactionWrapper):
    """A transaction that starts with ``BEGIN IMMEDIATE``."""

    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc


class UndoableTransactionContext(SqliteTransactionContext):
    """A transaction whose start, when it fails or is cancelled part-way, leaves nothing held,
    and whose commit, once begun, ends (``committed`` tells whether it succeeded)."""

    committed = False

    async def __aenter__(self) -> TransactionalDBClient:
        await self._trxlock.acquire()
        try:
            await self.ensure_connection()
            self.token = get_connections().set(self.connection_name, self.connection)
            try:
                await self.connection.begin()
            except BaseException:
                get_connections().reset(self.token)
                raise
        except BaseException:
            try:
                await self._roll_back()
            finally:
                self._trxlock.release()
            raise
        return self.connection

    async def __aexit__(self, exc_type, exc_val, exc_tb) -> None:
        if exc_type is not None or self.connection._finalized:
            await super().__aexit__(exc_type, exc_val, exc_tb)
            return
        try:
            await finish_even_if_cancelled(self._commit())
        finally:
            get_connections().reset(self.token)
            self._trxlock.release()

    async def _commit(self) -> None:
        try:
            await self.connection.commit()
        except Exception:
            await self._roll_back()
            raise
        self.committed = True

    async def _roll_back(self) -> None:
        """Roll back on the raw connection. aiosqlite runs statements in order on its thread, so
        a rollback queued now runs after a ``BEGIN`` that a cancelled task left behind; it does
        nothing when no transaction is open."""
        raw = self.connection._connection
        if raw is not None:
            with contextlib.suppress(Exception):
                await raw.rollback()


class ImmediateSqliteClient(SqliteClient):
    """The SQLite client whose top-level transactions are ``BEGIN IMMEDIATE`` and whose
    transaction starts can be interrupted safely."""

    def _in_transaction(self) -> TransactionContext:
        return UndoableTransactionContext(ImmediateTransactionWrapper(self), self._lock)


client_class = ImmediateSqliteClient
