"""The text folding every search shares: case and diacritics ignored, on any script.

``fold(text)`` is what a search compares: the text's full Unicode case folding
(``str.casefold``: ``ß`` → ``ss``, ``ς`` → ``σ``, ``ǅ`` → ``ǆ``), decomposed by compatibility
(NFKD: ``ﬁ`` → ``fi``, ``é`` → ``e`` + U+0301) with the combining marks dropped. So ``ecole``
finds "École", ``naive`` finds "naïve", ``strasse`` finds "Straße", and an exact-accent query
still finds its text (both sides fold alike). A search text that folds to nothing (only
combining marks) matches nothing.

PostgreSQL has no casefold or NFKD in SQL; the issues plugin's ``server_fold()`` function there
is ``lower()`` then the ``unaccent`` dictionary (which maps ``ß`` to ``ss``, ligatures to their
letters) then ``ς`` → ``σ``: the same answers for the letters people type.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

__all__ = ["fold", "folded_contains"]

_combining = unicodedata.combining


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not _combining(char))


@lru_cache(maxsize=4096)
def _fold_short(text: str) -> str:
    return _fold(text)


def fold(text: str | None) -> str | None:
    """``text`` with case and diacritics folded away (``None`` stays ``None``)."""
    if text is None:
        return None
    if text.isascii():
        return text.lower()
    if len(text) <= 64:  # search needles, titles, lines: repeated often
        return _fold_short(text)
    return _fold(text)


def folded_contains(text: str | None, needle: str) -> bool:
    """Whether ``text`` contains ``needle`` once both are folded (an empty fold: never)."""
    folded = fold(needle)
    return bool(text) and bool(folded) and folded in fold(text)
