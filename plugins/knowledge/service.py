"""Knowledge pages: read from the worktree's files, changed as one git commit each.

This is the ``knowledge`` service other plugins may call (``kernel.services.get("knowledge")``).
Reads go straight to the files, in a worker thread. Every write holds one asyncio lock from the
version check to the commit, so two writers never interleave, and a failed commit puts the
file back as it was. That lock is the knowledge checkout's own, held by the hub owner
(:func:`plugins.hub.get_hub`), so a sync fetch or push never rebases the branch under a write. A change runs to its end even when the request that asked for it is
cancelled (its client disconnected): stopping it half-way would leave a page file that is not
committed, or a git commit killed mid-way.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import tempfile
from collections.abc import Awaitable, Callable, Collection
from pathlib import Path
from typing import Any

from kernel import SearchHit
from kernel.api import APIError, BadRequest, NotFound
from plugins.hub import GitError, get_hub

from . import pages
from .config import KnowledgeConfig
from .events import KnowledgeChanged
from .frontmatter import FrontMatter, Source, render_page
from .pages import Page, RankedPage
from .search import coverage_score, query_terms, snippet
from .slugs import InvalidSlug, page_path
from .worktree import KnowledgeWorktree

#: The name other plugins use: ``kernel.services.get("knowledge")``.
SERVICE_NAME = "knowledge"
SEARCH_CONTEXT = 2
UNIFIED_SEARCH_CONTEXT = 1
ANY_VERSION = "*"

#: Marks a field a PATCH leaves unchanged.
UNCHANGED: Any = object()

log = logging.getLogger("crosslink.knowledge")


def uninterrupted(change: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Run a change as its own task, shielded from the caller's cancellation: the caller still
    stops waiting, the change goes on to its commit (or its undo)."""

    @functools.wraps(change)
    async def run(self: KnowledgeService, *args: Any, **kwargs: Any) -> Any:
        task = asyncio.ensure_future(change(self, *args, **kwargs))
        self._changes.add(task)
        task.add_done_callback(self._change_done)
        return await asyncio.shield(task)

    return run


class KnowledgeService:
    """Lists, reads, searches, creates, updates and deletes knowledge pages."""

    def __init__(self, kernel: Any, config: KnowledgeConfig) -> None:
        self.kernel = kernel
        #: The server's one owner of the crosslink checkouts: its git runner, and the knowledge
        #: checkout's lock, which sync's fetch and push take too.
        self.owner = get_hub(kernel)
        self.worktree = KnowledgeWorktree(
            kernel.main_repo_root,
            self.owner.git.with_timeouts(config.git_timeout_seconds, config.remote_timeout_seconds),
            remote=lambda: kernel.hook_config.read().remote,
            remote_timeout=config.remote_timeout_seconds,
        )
        self._write_lock = self.owner.knowledge_lock
        self._changes: set[asyncio.Task] = set()

    def _change_done(self, task: asyncio.Task) -> None:
        self._changes.discard(task)
        if not task.cancelled() and task.exception() is not None:  # retrieved: its caller may be gone
            log.debug("a knowledge change failed: %r", task.exception())

    async def settle(self, timeout: float) -> None:
        """Wait (at most ``timeout`` seconds) for the changes still running (at shutdown)."""
        if self._changes:
            await asyncio.wait(set(self._changes), timeout=timeout)

    @property
    def pages_dir(self) -> Path:
        """The directory whose top-level ``*.md`` files are the pages (the worktree)."""
        return self.worktree.path

    def today(self) -> str:
        return self.kernel.clock.now().strftime("%Y-%m-%d")

    # --- reads ----------------------------------------------------------------------------

    async def list_pages(self) -> list[Page]:
        """Every page, sorted by slug; none while the worktree does not exist."""
        return await asyncio.to_thread(pages.list_pages, self.pages_dir)

    async def get_page(self, slug: str) -> Page:
        """Page ``slug``; 400 for an invalid slug, 404 when there is no such page."""
        page = await asyncio.to_thread(self._read, slug)
        if page is None:
            raise NotFound(f"Page '{slug}' not found")
        return page

    async def search(self, query: str, context: int = SEARCH_CONTEXT) -> list[RankedPage]:
        """Pages matching ``query`` with the CLI's semantics, best first."""
        return await asyncio.to_thread(pages.search_pages, self.pages_dir, query, context)

    async def search_hits(self, query: str, limit: int) -> list[SearchHit]:
        """Hits for the unified search: one per page, its first match group as snippet."""
        ranked = await self.search(query, UNIFIED_SEARCH_CONTEXT)
        terms = query_terms(query)
        hits = []
        for page in ranked:
            title = page.title or page.hits.slug
            hits.append(
                SearchHit(
                    kind="knowledge",
                    id=page.hits.slug,
                    title=title,
                    snippet=snippet(page.hits.matches[0]),
                    score=coverage_score(page.hits, terms, title, query),
                    url=f"/api/v1/knowledge/{page.hits.slug}",
                )
            )
        hits.sort(key=lambda hit: -hit.score)  # stable: equal scores keep the CLI's order
        return hits[:limit]

    def _read(self, slug: str) -> Page | None:
        try:
            return pages.read_page(self.pages_dir, slug)
        except InvalidSlug as exc:
            raise BadRequest(str(exc)) from None

    def _path(self, slug: str) -> Path:
        try:
            return page_path(self.pages_dir, slug)
        except InvalidSlug as exc:
            raise BadRequest(str(exc)) from None

    # --- writes ---------------------------------------------------------------------------

    @uninterrupted
    async def create_page(
        self,
        slug: str,
        *,
        title: str,
        content: str = "",
        tags: Collection[str] = (),
        sources: Collection[Source] = (),
        contributor: str | None = None,
    ) -> Page:
        """Write a new page and commit it ("Add knowledge page: <slug>"); 409 if it exists."""
        self._path(slug)  # validate before anything touches the disk
        today = self.today()
        front = FrontMatter(
            title=title,
            tags=tuple(tags),
            sources=tuple(sources),
            contributors=(contributor,) if contributor else (),
            created=today,
            updated=today,
        )
        data = render_page(front, content).encode("utf-8")
        async with self._write_lock:
            await self.worktree.create(today)
            await self.worktree.check()
            path = self._path(slug)
            if path.exists() or path.is_symlink():
                raise APIError(409, f"Page '{slug}' already exists")
            await self._change(slug, path, None, data, f"Add knowledge page: {slug}")
        self.kernel.publish(KnowledgeChanged(slug=slug, action="created"))
        return pages.page_from_bytes(slug, data)

    @uninterrupted
    async def update_page(
        self,
        slug: str,
        *,
        expected: Collection[str] | None,
        contributor: str | None = None,
        title: Any = UNCHANGED,
        content: Any = UNCHANGED,
        tags: Any = UNCHANGED,
        sources: Any = UNCHANGED,
    ) -> Page:
        """Change the given fields and commit ("Update knowledge page: <slug>").

        ``expected`` holds the versions the client read (``"*"`` = any); ``None`` skips the
        check. 412 when the page changed since. ``updated`` becomes today and the contributor
        joins ``contributors``; a change that alters nothing writes nothing.
        """
        path = self._path(slug)
        async with self._write_lock:
            current = await asyncio.to_thread(self._read, slug)
            if current is None:
                raise NotFound(f"Page '{slug}' not found")
            self._check_version(current, expected)
            fields = current.fields
            body = current.body if content is UNCHANGED else content
            changed = fields.changed(
                title=fields.title if title is UNCHANGED else title,
                tags=fields.tags if tags is UNCHANGED else tuple(tags),
                sources=fields.sources if sources is UNCHANGED else tuple(sources),
            )
            if changed == fields and body == current.body:
                if not contributor or contributor in fields.contributors:
                    return current  # nothing to record: no commit, ``updated`` kept
            today = self.today()
            contributors = fields.contributors
            if contributor and contributor not in contributors:
                contributors = (*contributors, contributor)
            changed = changed.changed(
                contributors=contributors, created=fields.created or today, updated=today
            )
            data = render_page(changed, body).encode("utf-8")
            if data == current.raw:
                return current
            await self.worktree.check()
            await self._change(slug, path, current.raw, data, f"Update knowledge page: {slug}")
        self.kernel.publish(KnowledgeChanged(slug=slug, action="updated"))
        return pages.page_from_bytes(slug, data)

    @uninterrupted
    async def delete_page(self, slug: str, *, expected: Collection[str] | None = None) -> None:
        """Remove the page and commit ("Delete knowledge page: <slug>"); 404 when absent."""
        path = self._path(slug)
        async with self._write_lock:
            current = await asyncio.to_thread(self._read, slug)
            if current is None:
                raise NotFound(f"Page '{slug}' not found")
            self._check_version(current, expected)
            await self.worktree.check()
            await self._change(slug, path, current.raw, None, f"Delete knowledge page: {slug}")
        self.kernel.publish(KnowledgeChanged(slug=slug, action="deleted"))

    @staticmethod
    def _check_version(page: Page, expected: Collection[str] | None) -> None:
        if expected is None or ANY_VERSION in expected or page.version in expected:
            return
        raise APIError(
            412,
            f"Page '{page.slug}' has changed since version {', '.join(sorted(expected))}; "
            "read it again and re-apply your change",
            current_version=page.version,
        )

    async def _change(self, slug: str, path: Path, old: bytes | None, new: bytes | None, message: str) -> None:
        """Put ``new`` (``None`` = remove) in place and commit it; undo everything on failure."""
        try:
            await asyncio.to_thread(_replace_file, path, new)
            await self.worktree.commit_file(path.name, message, tracked=old is not None)
        except BaseException as exc:
            await asyncio.to_thread(_replace_file, path, old)
            await self.worktree.unstage(path.name)
            if isinstance(exc, GitError):
                raise APIError(500, f"Could not commit knowledge page '{slug}': {exc.stderr or exc}") from None
            raise


def _replace_file(path: Path, data: bytes | None) -> None:
    """Write ``data`` to ``path`` atomically (a reader sees old or new, never half), or remove it."""
    if data is None:
        path.unlink(missing_ok=True)
        return
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, temp = tempfile.mkstemp(prefix=".knowledge-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
