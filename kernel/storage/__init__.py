"""Storage: the database URL, the Tortoise set-up, raw SQL helpers and versioned migrations."""

from .database import Database
from .spec import Migration, StorageSpec

__all__ = ["Database", "Migration", "StorageSpec"]
