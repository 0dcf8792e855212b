"""Tortoise's asyncpg client, with transaction starts that can be interrupted safely.

Tortoise takes a connection from the pool and then runs ``BEGIN``; if that fails or the task is
cancelled there (a client that disconnects at that moment), the connection never went back to
the pool. Ten such requests and every later query of the server waited forever. Here a failed
start gives the connection back (asyncpg resets it: a running statement is cancelled, an open
transaction rolled back). A commit that has begun runs to its end even when the task is
cancelled meanwhile. Tortoise loads this module as a connection engine: the config names it,
nothing is patched.
"""

from __future__ import annotations

from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import TransactionalDBClient, TransactionContext, TransactionContextPooled
from tortoise.connection import get_connections

from .cancellation import finish_even_if_cancelled


class UndoablePooledTransactionContext(TransactionContextPooled):
    """A transaction whose start, when it fails or is cancelled part-way, leaves nothing held,
    and whose commit, once begun, ends (``committed`` tells whether it succeeded)."""

    committed = False

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

    async def __aexit__(self, exc_type, exc_val, exc_tb) -> None:
        if exc_type is not None or self.client._finalized:
            await super().__aexit__(exc_type, exc_val, exc_tb)
            return
        try:
            await finish_even_if_cancelled(self._commit())
        finally:
            await self.client._parent._pool.release(self.client._connection)
            get_connections().reset(self.token)

    async def _commit(self) -> None:
        await self.client.commit()
        self.committed = True


class UndoableAsyncpgClient(AsyncpgDBClient):
    """The asyncpg client whose transaction starts can be interrupted safely."""

    def _in_transaction(self) -> TransactionContext:
        return UndoablePooledTransactionContext(TransactionWrapper(self), self._pool_init_lock)


client_class = UndoableAsyncpgClient
