"""Knowledge search with the crosslink CLI's semantics (``KnowledgeManager::search_content``).

1. The query is folded and split on whitespace into terms; no terms, no results.
2. Pages are visited in file-name order. A page's ``term_hits`` is how many of the terms occur
   anywhere in it (folded); pages with none are skipped.
3. Matching lines are the lines containing any term, front matter included.
4. Matching line indices are grouped: an index joins the current group when
   ``idx <= last + 2*context + 1``.
5. Each group is one match: ``line_number`` is the group's first matching line (1-based, counted
   from the top of the file) and ``context_lines`` runs from ``first - context`` to
   ``last + context``, clamped to the file.
6. Pages are ordered by ``term_hits``, most first; ties keep file-name order (a stable sort).
   Groups keep line order within a page.

"Folded" is where this server goes further than the CLI, which lower-cases: case and
diacritics are folded away on both sides (:func:`kernel.textfold.fold`, the same folding as the
issue search), so ``ecole`` finds "École" and ``strasse`` finds "Straße"; lines are shown as
written.
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel.textfold import fold


@dataclass(frozen=True)
class SearchMatch:
    """One group of matching lines in one page."""

    slug: str
    line_number: int
    context_lines: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class PageHits:
    """A page's matches and how many of the query's terms it contains."""

    slug: str
    term_hits: int
    distinct_terms_matched: int
    matches: tuple[SearchMatch, ...]


def query_terms(query: str) -> list[str]:
    """Folded whitespace-separated terms, repeats kept (the CLI counts them)."""
    return fold(query).split()


def text_lines(text: str) -> list[str]:
    """The lines of ``text`` as Rust's ``str::lines`` gives them.

    Lines end at ``\\n`` (a ``\\r`` before it is dropped); a final line ending does not start
    another line. Other characters Python treats as line breaks are ordinary text here.
    """
    if not text:
        return []
    parts = text.split("\n")
    last = parts.pop()
    lines = [part[:-1] if part.endswith("\r") else part for part in parts]
    if last:
        lines.append(last)
    return lines


def group_matches(indices: list[int], context: int) -> list[list[int]]:
    """Group ascending line indices whose context windows touch or overlap."""
    groups: list[list[int]] = []
    for index in indices:
        if groups and index <= groups[-1][-1] + 2 * context + 1:
            groups[-1].append(index)
        else:
            groups.append([index])
    return groups


def search_page(slug: str, text: str, terms: list[str], context: int) -> PageHits | None:
    """The matches of ``terms`` in one page, or ``None`` when no term occurs in it."""
    lines = text_lines(text)
    lowered = [fold(line) for line in lines]
    present = {term for term in set(terms) if any(term in line for line in lowered)}
    if not present:
        return None
    term_hits = sum(1 for term in terms if term in present)
    matching = [index for index, line in enumerate(lowered) if any(term in line for term in present)]
    matches = []
    for group in group_matches(matching, context):
        start = max(group[0] - context, 0)
        end = min(group[-1] + context + 1, len(lines))
        matches.append(
            SearchMatch(
                slug=slug,
                line_number=group[0] + 1,
                context_lines=tuple((index + 1, lines[index]) for index in range(start, end)),
            )
        )
    return PageHits(slug, term_hits, len(present), tuple(matches))


def rank_pages(pages: list[PageHits]) -> list[PageHits]:
    """Most term hits first; ties keep the given (file-name) order."""
    return sorted(pages, key=lambda page: -page.term_hits)


def coverage_score(page: PageHits, terms: list[str], title: str, query: str) -> float:
    """A 0..1 score for the unified search.

    0.8 × the share of the query's distinct terms found in the page, plus 0.2 when the whole
    query occurs in the page title (folded); a page titled exactly like the query
    and containing every term scores 1.0.
    """
    distinct = len(set(terms)) or 1
    score = 0.8 * page.distinct_terms_matched / distinct
    if fold(query) in fold(title):
        score += 0.2
    return round(min(score, 1.0), 4)


def snippet(match: SearchMatch, limit: int = 200) -> str:
    """The match's lines joined by spaces, at most ``limit`` characters (as the original)."""
    return " ".join(text for _, text in match.context_lines)[:limit]
