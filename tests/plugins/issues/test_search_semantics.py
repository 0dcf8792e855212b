"""SQLite search answers exactly what Python's ``str.lower()`` substring test answers, for the
characters where case mapping is tricky (this module runs on SQLite, where the server does the
folding itself; PostgreSQL's ILIKE folds by the database's locale)."""

from __future__ import annotations

import pytest

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
    return sorted((ids for text, ids in corpus.items() if needle.lower() in text.lower()), reverse=True)


@pytest.mark.parametrize("needle", NEEDLES)
async def test_short_queries_follow_python_lower(api, corpus, needle):
    assert await api.ids(search=needle) == expected(corpus, needle), needle


@pytest.mark.parametrize("needle", ["straße", "ÜBER", "übe", "ångström", "ÅNGSTR", "ascii tex", "kelvin: 300 k", "İstan"])
async def test_longer_queries_use_the_index_with_the_same_answers(api, corpus, needle):
    assert await api.ids(search=needle) == expected(corpus, needle), needle
