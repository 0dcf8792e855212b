"""The price table: which price applies to a model, and what a call cost."""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache

from .config import Price

PER = 1_000_000


@dataclass(frozen=True)
class Tokens:
    """Token counts of one call, or sums of many (cost is linear in them)."""

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_creation: int = 0


class PriceTable:
    """Prices by model: exact names first, then wildcard patterns, longest pattern first."""

    def __init__(self, prices: dict[str, Price]) -> None:
        self._exact = {name: price for name, price in prices.items() if not _is_pattern(name)}
        self._patterns = sorted(
            ((name, price) for name, price in prices.items() if _is_pattern(name)),
            key=lambda item: (-len(item[0]), item[0]),
        )
        self.price_for = lru_cache(maxsize=4096)(self._lookup)

    def __bool__(self) -> bool:
        return bool(self._exact or self._patterns)

    def _lookup(self, model: str) -> Price | None:
        price = self._exact.get(model)
        if price is not None:
            return price
        for pattern, candidate in self._patterns:
            if fnmatchcase(model, pattern):
                return candidate
        return None

    def estimate(self, model: str, tokens: Tokens) -> float | None:
        """The cost in dollars of ``tokens`` on ``model``, or ``None`` when it has no price."""
        price = self.price_for(model)
        if price is None:
            return None
        cache_read = price.input if price.cache_read is None else price.cache_read
        cache_creation = price.input if price.cache_creation is None else price.cache_creation
        return (
            tokens.input * price.input
            + tokens.output * price.output
            + tokens.cache_read * cache_read
            + tokens.cache_creation * cache_creation
        ) / PER


def _is_pattern(name: str) -> bool:
    return any(ch in name for ch in "*?[")
