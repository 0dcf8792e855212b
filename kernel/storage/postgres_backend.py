"""Tortoise's asyncpg client, with transaction starts that can be interrupted safely.

Tortoise takes a connection from the pool and then runs ``BEGIN``; if that fails or the task is
cancelled there (a client that disconnects at that moment), the connection never went back to
the pool. Ten such requests and every later query of the server waited forever. Here a failed
start gives the connection back (asyncpg resets it: a running statement is cancelled, an open
transaction rolled back). Tortoise loads this module as a connection engine: the config names
it, nothing is patched.
"""

from __future__ import annotations

from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import TransactionalDBClient, TransactionContext, TransactionContextPooled
from tortoise.connection import get_connections


class UndoablePooledTransactionContext(TransactionContextPooled):
    """A transaction whose start, when it fails or is cancelled part-way, leaves nothing held."""

    async def __aenter__(self) -> TransactionalDBClient:
        await self.ensure_connection()
        pool = self.client._parent._pool
        self.client._connection = await pool.acquire()
        try:
            self.token = get_connections().set(self.connection_name, self.client)
            try:
                await self.client.begin()
            except BaseException:
                get_connections().reset(self.token)
                raise
        except BaseException:
            await pool.release(self.client._connection)
            raise
        return self.client


class UndoableAsyncpgClient(AsyncpgDBClient):
    """The asyncpg client whose transaction starts can be interrupted safely."""

    def _in_transaction(self) -> TransactionContext:
        return UndoablePooledTransactionContext(TransactionWrapper(self), self._pool_init_lock)


client_class = UndoableAsyncpgClient
