"""Reading pages straight from the files of the knowledge worktree (no git involved).

A page is a top-level ``<slug>.md`` regular file whose name is a valid slug; subdirectories,
other files and links that lead outside the directory are not pages. These functions block on
file I/O; the service runs them in a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .frontmatter import FrontMatter, blob_version, parse_page
from .search import PageHits, query_terms, rank_pages, search_page
from .slugs import page_path, slug_of


@dataclass(frozen=True)
class Page:
    """A page as read from its file; ``version`` is the blob id of the exact bytes read."""

    slug: str
    front_matter: FrontMatter | None
    body: str
    version: str
    raw: bytes

    @property
    def title(self) -> str:
        """The front matter title; the slug when the page has no front matter (as the CLI)."""
        return self.slug if self.front_matter is None else self.front_matter.title

    @property
    def fields(self) -> FrontMatter:
        """The front matter, or the empty one (title = slug) for a page without any."""
        return self.front_matter or FrontMatter(title=self.slug)

    def summary(self) -> dict:
        fm = self.fields
        return {"slug": self.slug, "title": self.title, "tags": list(fm.tags), "updated": fm.updated}

    def detail(self) -> dict:
        fm = self.fields
        return {
            "slug": self.slug,
            "title": self.title,
            "tags": list(fm.tags),
            "sources": [source.as_dict() for source in fm.sources],
            "contributors": list(fm.contributors),
            "created": fm.created,
            "updated": fm.updated,
            "content": self.body,
            "version": self.version,
        }


def decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def page_from_bytes(slug: str, data: bytes) -> Page:
    parsed = parse_page(decode(data))
    return Page(slug, parsed.front_matter, parsed.body, blob_version(data), data)


def read_page(pages_dir: Path, slug: str) -> Page | None:
    """Page ``slug``, or ``None`` when there is no such page (raises InvalidSlug first)."""
    path = page_path(pages_dir, slug)
    try:
        if not path.is_file():
            return None
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return page_from_bytes(slug, data)


def page_files(pages_dir: Path) -> list[tuple[str, Path]]:
    """``(slug, path)`` of every page, in file-name order."""
    if not pages_dir.is_dir():
        return []
    root = pages_dir.resolve()
    found = []
    for path in sorted(pages_dir.iterdir(), key=lambda entry: entry.name):
        slug = slug_of(path)
        if slug is None:
            continue
        try:
            if path.is_file() and path.resolve().parent == root:
                found.append((slug, path))
        except OSError:
            continue
    return found


def _read_all(pages_dir: Path) -> list[Page]:
    pages = []
    for slug, path in page_files(pages_dir):
        try:
            pages.append(page_from_bytes(slug, path.read_bytes()))
        except OSError:  # removed or unreadable between listing and reading
            continue
    return pages


def list_pages(pages_dir: Path) -> list[Page]:
    """Every page, sorted by slug (file-name order differs: ``a-b.md`` sorts before ``a.md``)."""
    return sorted(_read_all(pages_dir), key=lambda page: page.slug)


@dataclass(frozen=True)
class RankedPage:
    """A page that matched a search, with its matches and its title."""

    hits: PageHits
    title: str


def search_pages(pages_dir: Path, query: str, context: int) -> list[RankedPage]:
    """Pages matching ``query`` in the CLI's order (most distinct terms first, then by name)."""
    terms = query_terms(query)
    if not terms:
        return []
    found = []
    titles = {}
    for page in _read_all(pages_dir):
        hits = search_page(page.slug, decode(page.raw), terms, context)
        if hits is not None:
            found.append(hits)
            titles[page.slug] = page.title
    return [RankedPage(hits, titles[hits.slug]) for hits in rank_pages(found)]

