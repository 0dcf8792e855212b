"""The price table: which price applies to a model, and what a call cost."""

from __future__ import annotations

from fnmatch import fnmatchcase
from functools import lru_cache

from .config import Price

PER = 1_000_000


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

    def estimate(self, model: str, input_tokens: int, output_tokens: int, cache_read_tokens: int = 0,
                 cache_creation_tokens: int = 0) -> float | None:
        """The cost in dollars of these tokens (of one call, or sums over many: cost is linear in
        them) on ``model``, or ``None`` when it has no price."""
        price = self.price_for(model)
        if price is None:
            return None
        cache_read = price.input if price.cache_read is None else price.cache_read
        cache_creation = price.input if price.cache_creation is None else price.cache_creation
        return (
            input_tokens * price.input
            + output_tokens * price.output
            + cache_read_tokens * cache_read
            + cache_creation_tokens * cache_creation
        ) / PER


def _is_pattern(name: str) -> bool:
    return any(ch in name for ch in "*?[")
