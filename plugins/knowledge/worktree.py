"""The ``crosslink/knowledge`` branch and its worktree ``.crosslink/.knowledge-cache``.

Created the way the crosslink CLI creates it (``KnowledgeManager::init_cache``):

* a local ``crosslink/knowledge`` branch is checked out into the worktree;
* otherwise, when the configured remote (``tracker_remote``, default ``origin``) has the
  branch, it is fetched and checked out as a local branch tracking the remote one;
* otherwise a new orphan branch is made whose first commit holds ``index.md``
  ("Initialize crosslink/knowledge branch"). It is built with git plumbing (``hash-object``,
  ``mktree``, ``commit-tree``, ``update-ref``), which works on every git version and never
  touches a working tree, then checked out.

One deliberate difference: when the remote is configured but cannot be reached, creation fails
with 503 instead of starting an orphan branch that would diverge from the remote's.

Commits are made in the worktree only, one page file at a time (``git commit -- <file>``), so
changes someone else left staged there are not swept in; nothing is pushed here (the sync
plugin pushes the branch). When no git identity is configured, commits are made as
``crosslink <crosslink@localhost>``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kernel.api import APIError
from plugins.hub import Git, GitError, InvalidGitName, check_remote_name

BRANCH = "crosslink/knowledge"
BRANCH_REF = f"refs/heads/{BRANCH}"
CACHE_DIR = Path(".crosslink") / ".knowledge-cache"
INDEX_FILE = "index.md"
INIT_MESSAGE = f"Initialize {BRANCH} branch"
FALLBACK_IDENTITY = {"user.name": "crosslink", "user.email": "crosslink@localhost"}
LOCK_RETRIES = 5


def index_page(today: str) -> str:
    """The first page of a new knowledge branch, byte for byte what the CLI writes."""
    return (
        "---\n"
        "title: Knowledge Index\n"
        "tags: [index]\n"
        "sources: []\n"
        "contributors: []\n"
        f"created: {today}\n"
        f"updated: {today}\n"
        "---\n"
        "\n"
        "# Knowledge Index\n"
        "\n"
        "This is the shared knowledge repository for the project.\n"
    )


class KnowledgeWorktree:
    """Creates the worktree, checks it before writes, and commits page files in it."""

    def __init__(self, repo_root: Path, git: Git, remote: Callable[[], str], remote_timeout: float):
        self.repo_root = repo_root
        self.path = repo_root / CACHE_DIR
        self.git = git
        self._remote = remote
        self.remote_timeout = remote_timeout
        #: the identity options last asked of git, with the config files' state then
        self._identity: tuple[tuple, list[str]] | None = None

    # --- creation ------------------------------------------------------------------------

    async def create(self, today: str) -> None:
        """Create the worktree unless it exists (the caller serialises writes)."""
        if self.path.exists():
            return
        root = self.repo_root
        probe = await self.git.run(root, "rev-parse", "--git-dir", check=False)
        if not probe.ok:
            raise APIError(500, f"{root} is not a git repository; knowledge pages live on the git branch {BRANCH}")
        await self.git.run(root, "worktree", "prune")
        has_local = (await self.git.run(root, "rev-parse", "--verify", "--quiet", BRANCH_REF, check=False)).ok
        remote = None if has_local else await self._remote_with_branch()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            if has_local:
                await self.git.run(root, "worktree", "add", "--quiet", "--", str(self.path), BRANCH)
            elif remote is not None:
                tracking = f"refs/remotes/{remote}/{BRANCH}"
                await self.git.run(
                    root, "fetch", "--quiet", "--no-tags", "--", remote, f"+{BRANCH_REF}:{tracking}",
                    timeout=self.remote_timeout,
                )
                await self.git.run(
                    root, "worktree", "add", "--quiet", "--track", "-b", BRANCH, "--", str(self.path), tracking
                )
            else:
                await self._create_orphan_branch(today)
                await self.git.run(root, "worktree", "add", "--quiet", "--", str(self.path), BRANCH)
        except GitError as exc:
            if self.path.is_dir():  # someone (the CLI?) created it meanwhile
                return
            raise APIError(500, f"Could not create the knowledge worktree: {exc.stderr or exc}") from None

    def _remote_name(self) -> str:
        name = self._remote()
        try:
            return check_remote_name(name, "tracker_remote")
        except InvalidGitName:
            raise APIError(500, f"tracker_remote '{name}' in hook-config.json is not a usable git remote name") from None

    async def _remote_with_branch(self) -> str | None:
        """The remote's name when it has the knowledge branch; ``None`` when it has not."""
        remote = self._remote_name()
        configured = await self.git.run(self.repo_root, "config", "--get", f"remote.{remote}.url", check=False)
        if not configured.ok:
            return None  # no such remote: a local-only repository
        try:
            listing = await self.git.run(
                self.repo_root, "ls-remote", "--heads", "--", remote, BRANCH_REF,
                check=False, timeout=self.remote_timeout,
            )
        except GitError as exc:  # timed out
            listing = None
            reason = str(exc)
        else:
            reason = listing.stderr.strip().splitlines()[0] if listing.stderr.strip() else "ls-remote failed"
        if listing is None or not listing.ok:
            raise APIError(
                503,
                f"Cannot reach remote '{remote}' to look for the {BRANCH} branch ({reason}); "
                "try again when it is reachable",
            )
        return remote if listing.stdout.strip() else None

    async def _create_orphan_branch(self, today: str) -> None:
        root = self.repo_root
        blob = await self.git.run(root, "hash-object", "-w", "--stdin", stdin=index_page(today).encode())
        tree = await self.git.run(root, "mktree", stdin=f"100644 blob {blob.stdout.strip()}\t{INDEX_FILE}\n".encode())
        identity = await self._identity_options(root)
        commit = await self.git.run(root, *identity, "commit-tree", tree.stdout.strip(), "-m", INIT_MESSAGE)
        # The empty old value makes update-ref refuse if the branch appeared meanwhile.
        await self.git.run(root, "update-ref", BRANCH_REF, commit.stdout.strip(), "")

    # --- writes ---------------------------------------------------------------------------

    async def check(self) -> None:
        """Refuse to write unless the cache is a worktree with the knowledge branch checked out.

        Read from the worktree's own files when they show it plainly (``.git`` names the
        worktree's git directory, whose ``HEAD`` is the branch): no git process per write.
        Anything else is asked of git, which also words the refusal.
        """
        if await asyncio.to_thread(self._plainly_on_branch):
            return
        result = await self.git.run(
            self.path, "rev-parse", "--show-toplevel", "--symbolic-full-name", "HEAD", check=False
        )
        lines = result.stdout.splitlines()
        if not result.ok or len(lines) < 2 or Path(lines[0]).resolve() != self.path.resolve():
            raise APIError(
                500,
                f"{self.path} is not a git worktree of the {BRANCH} branch; move it aside so it can be recreated",
            )
        if lines[1] != BRANCH_REF:
            raise APIError(
                409,
                f"The knowledge worktree has {lines[1] or 'a detached HEAD'} checked out, not {BRANCH} "
                "(a rebase in progress?); finish that first",
            )

    def _git_dir(self) -> Path | None:
        """The worktree's git directory, from its ``.git`` file (``None``: not plainly one)."""
        try:
            pointer = (self.path / ".git").read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return None
        if not pointer.startswith("gitdir: "):
            return None
        git_dir = Path(pointer[len("gitdir: "):])
        return git_dir if git_dir.is_absolute() else (self.path / git_dir).resolve()

    def _plainly_on_branch(self) -> bool:
        git_dir = self._git_dir()
        if git_dir is None:
            return False
        try:
            head = (git_dir / "HEAD").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return False
        return head == f"ref: {BRANCH_REF}\n" and (git_dir / "commondir").is_file()

    async def commit_file(self, filename: str, message: str, *, tracked: bool = False) -> bool:
        """Commit the file's current state (new, changed or removed) alone; ``False`` if unchanged.

        ``tracked``: the file was in the last commit (a change or a removal), so ``git commit
        -- <file>`` takes its new state by itself; a new file is staged with ``git add`` first.
        Whether anything changed is asked of git only when the commit refuses. So a change is
        one git process, a new page two.
        """
        identity = await self._identity_options(self.path)
        commit = (*identity, "commit", "--quiet", "--no-verify", "-m", message, "--", filename)
        exists = (self.path / filename).exists()
        if exists and not tracked:
            await self._locked_retry("add", "--", filename)
        try:
            await self._locked_retry(*commit)
        except GitError:
            if exists and tracked:  # not in the index after all (someone removed it there)
                await self._locked_retry("add", "--", filename)
                try:
                    await self._locked_retry(*commit)
                    return True
                except GitError:
                    pass
            unchanged = await self.git.run(self.path, "diff", "--quiet", "HEAD", "--", filename, check=False)
            if unchanged.returncode == 0:
                return False
            raise
        return True

    async def unstage(self, filename: str) -> None:
        """Best effort: make the index match HEAD for ``filename`` again (after a failed commit)."""
        try:
            await self.git.run(self.path, "reset", "--quiet", "--", filename, check=False)
        except GitError:
            pass

    async def _locked_retry(self, *args: str) -> None:
        """Run a command that takes the index lock, retrying while another git holds it."""
        for attempt in range(LOCK_RETRIES):
            try:
                await self.git.run(self.path, *args)
                return
            except GitError as exc:
                if "index.lock" not in exc.stderr or attempt == LOCK_RETRIES - 1:
                    raise
                await asyncio.sleep(0.05 * (attempt + 1))

    async def _identity_options(self, cwd: Path) -> list[str]:
        """``-c user.name=crosslink -c user.email=crosslink@localhost`` for what is not configured.

        Asked of git once, then again only when a config file git reads for it changes (its
        modification time or size; the environment variables naming those files included).
        """
        signature = await asyncio.to_thread(self._config_signature)
        if self._identity is not None and self._identity[0] == signature:
            return self._identity[1]
        configured = await self.git.run(cwd, "config", "--get-regexp", r"^user\.(name|email)$", check=False)
        present = {line.split(" ", 1)[0].lower() for line in configured.stdout.splitlines() if " " in line}
        options = []
        for key, value in FALLBACK_IDENTITY.items():
            if key not in present:
                options += ["-c", f"{key}={value}"]
        self._identity = (signature, options)
        return options

    def _config_signature(self) -> tuple:
        """What identifies the state of every config file git reads for this worktree."""
        env = os.environ
        home = Path(env.get("HOME", "~")).expanduser()
        xdg = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else home / ".config"
        files = [home / ".gitconfig", xdg / "git" / "config", Path("/etc/gitconfig")]
        files += [Path(env[name]) for name in ("GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM") if env.get(name)]
        git_dir = self._git_dir()
        if git_dir is not None:
            files += [git_dir / "config.worktree", git_dir.parent.parent / "config"]
        files.append(self.repo_root / ".git" / "config")
        stamps: list[Any] = [env.get(name) for name in ("GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM", "GIT_CONFIG_NOSYSTEM")]
        for path in files:
            try:
                info = path.stat()
            except OSError:
                stamps.append((str(path), None))
            else:
                stamps.append((str(path), info.st_mtime_ns, info.st_size))
        return tuple(stamps)
