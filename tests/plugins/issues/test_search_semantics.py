"""SQLite search answers exactly what the folded substring test answers (``kernel.textfold.fold``
on both sides: full case folding, diacritics dropped), for the characters where case mapping is
tricky (this module runs on SQLite, where the server does the folding itself; PostgreSQL folds
with lower() and unaccent, see test_search_folding.py for what both answer alike)."""

from __future__ import annotations

import pytest

from kernel.textfold import fold

TEXTS = [
    "Kelvin: 300 \u212a",  # KELVIN SIGN lowers to ASCII k
    "\u0130stanbul trip",  # İ lowers to i + U+0307
    "STRA\u1e9eE and Stra\u00dfe",  # ẞ / ß
    "\u01c4EMAL \u01c5x \u01c6y",  # Ǆ ǅ ǆ
    "\u212bngstr\u00f6m and \u00c5sa",  # ANGSTROM SIGN and Å
    "ΟΔΟΣ and ΣΙΣΥΦΟΣ",  # final sigma in context
    "plain ascii text",
    "Ünïcödé ÜBER alles",
]

NEEDLES = ["k", "K", "i", "\u0307", "ß", "ẞ", "ǆ", "Ǆ", "å", "Å", "ö", "ς", "σ", "ü", "üb", "er", "Xt", "ï", "ǅx", "ss", "ki"]


@pytest.fixture
async def corpus(api):
    ids = {}
    for text in TEXTS:
        ids[text] = await api.create(f"t{len(ids)}", description=text)
    return ids


def expected(corpus, needle: str) -> list[int]:
    folded = fold(needle)  # a needle that folds to nothing (a lone combining mark) matches nothing
    return sorted((ids for text, ids in corpus.items() if folded and folded in fold(text)), reverse=True)


@pytest.mark.parametrize("needle", NEEDLES)
async def test_short_queries_follow_the_folding(api, corpus, needle):
    assert await api.ids(search=needle) == expected(corpus, needle), needle


@pytest.mark.parametrize("needle", ["straße", "ÜBER", "übe", "ångström", "ÅNGSTR", "ascii tex", "kelvin: 300 k", "İstan"])
async def test_longer_queries_use_the_index_with_the_same_answers(api, corpus, needle):
    assert await api.ids(search=needle) == expected(corpus, needle), needle
