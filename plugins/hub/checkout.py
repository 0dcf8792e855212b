"""One git worktree of one branch (the hub's or the knowledge branch's), and what git does in it.

A :class:`Checkout` knows its branch, its directory and its git directory, and runs every git
command in it through the one runner (:mod:`.git`). It does not lock: the owner
(:mod:`.owner`) calls it only while holding the checkout's locks. What it offers:

* reading: the HEAD commit, the branch checked out, uncommitted changes, commits ahead of and
  behind the remote-tracking branch;
* :meth:`Checkout.health_check`, run before every operation, the CLI's ``hub_health_check``:
  a stale ``index.lock`` is removed, an interrupted rebase aborted, a detached HEAD re-attached
  (keeping commits made on the detached HEAD when they sit on top of the branch);
* committing (the CLI's identity fallback ``crosslink <crosslink@localhost>``, signing only when
  the checkout's own config asks for it, as the CLI does);
* :meth:`Checkout.integrate` after a fetch: fast-forward (the CLI's ``reset --hard``) when there
  is nothing local, else rebase the local commits onto the remote's (aborted on a conflict, the
  local commits kept);
* :meth:`Checkout.push_once`: one push attempt, its outcome classified.

Hooks never run in these checkouts (``core.hooksPath=/dev/null``): a project's own ``pre-commit``
or ``pre-push`` hooks are for its code branches, not for the CLI's data branches.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from .git import Git, GitError, check_commit_id

log = logging.getLogger("crosslink.hub")

#: Options given to every command that changes a checkout.
QUIET_HOOKS = ("-c", "core.hooksPath=/dev/null")
FALLBACK_IDENTITY = (("user.name", "crosslink"), ("user.email", "crosslink@localhost"))
#: The CLI's message for committing what it found uncommitted before a fetch or push.
DIRTY_MESSAGE = "sync: auto-stage dirty hub state (recovery)"
#: The CLI refuses to rebase more than this many local commits ("a rebase loop").
MAX_DIVERGENCE = 10

REJECTED_MARKERS = ("[rejected]", "non-fast-forward", "fetch first", "rejected")
OFFLINE_MARKERS = (
    "Could not resolve host",
    "Could not read from remote",
    "does not appear to be a git repository",
    "unable to access",
    "Connection refused",
    "Connection timed out",
    "Network is unreachable",
    "No route to host",
    "Operation timed out",
)


def is_offline_error(text: str) -> bool:
    """git's message says the remote could not be reached (network, host, missing repository)."""
    return any(marker in text for marker in OFFLINE_MARKERS)


@dataclass(frozen=True)
class BranchUpdate:
    """What bringing one checkout to its remote-tracking branch did.

    :ivar action: ``up-to-date``, ``fast-forward``, ``rebased``, ``no-remote-branch``,
        ``kept-dirty`` (uncommitted changes stopped a reset), ``conflict`` (the rebase was
        aborted; local commits kept) or ``missing`` (no checkout).
    :ivar fetched: commits the remote had that the checkout had not.
    :ivar local: commits the checkout had that the remote had not (kept, rebased on top).
    """

    branch: str
    action: str
    before: str | None = None
    after: str | None = None
    fetched: int = 0
    local: int = 0
    detail: str | None = None


@dataclass(frozen=True)
class PushAttempt:
    """One ``git push``: ``pushed``, ``up-to-date``, ``rejected`` (not a fast-forward),
    ``offline`` or ``failed``, with git's message."""

    outcome: str
    detail: str = ""


class Checkout:
    """A worktree at ``path`` of the local branch ``branch`` of the repository at ``repo_root``."""

    def __init__(self, repo_root: Path, path: Path, branch: str, git: Git, *, stale_seconds: float = 0.0,
                 exclude: tuple[str, ...] = ()) -> None:
        self.repo_root = repo_root
        self.path = path
        self.branch = branch
        self.ref = f"refs/heads/{branch}"
        self.git = git
        #: Leftovers (``index.lock``, rebase state) younger than this are left alone: another
        #: git may still be working. ``0`` when the owner holds a lock every writer honours.
        self.stale_seconds = stale_seconds
        #: Top-level names in the checkout that are never committed (the CLI's lock file).
        self.exclude = exclude

    # --- where things are ------------------------------------------------------------------

    def exists(self) -> bool:
        return self.path.is_dir()

    def tracking_ref(self, remote: str) -> str:
        """``refs/remotes/<remote>/<branch>``: where a fetch puts the remote's branch."""
        return f"refs/remotes/{remote}/{self.branch}"

    def git_dir(self) -> Path | None:
        """The worktree's own git directory (``.git`` file → ``gitdir:``), or ``None``."""
        dot_git = self.path / ".git"
        if dot_git.is_dir():
            return dot_git
        try:
            pointer = dot_git.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return None
        if not pointer.startswith("gitdir:"):
            return None
        target = Path(pointer[len("gitdir:"):].strip())
        return target if target.is_absolute() else (self.path / target).resolve()

    def common_dir(self) -> Path | None:
        """The repository's shared git directory (refs, objects)."""
        git_dir = self.git_dir()
        if git_dir is None:
            return None
        try:
            pointer = (git_dir / "commondir").read_text(encoding="utf-8").strip()
        except OSError:
            return git_dir
        common = Path(pointer)
        return common if common.is_absolute() else (git_dir / common).resolve()

    def head_ref(self) -> str | None:
        """What HEAD names: ``refs/heads/...`` when attached, ``None`` when detached or unreadable."""
        git_dir = self.git_dir()
        if git_dir is None:
            return None
        try:
            head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return head[len("ref: "):].strip() if head.startswith("ref: ") else None

    def on_branch(self) -> bool:
        """The checkout is a worktree with its branch checked out."""
        return self.head_ref() == self.ref

    # --- reading through git -----------------------------------------------------------------

    def read_ref(self, ref: str, depth: int = 0) -> str | None:
        """The commit a ref names, read from the ref files (loose, then ``packed-refs``), or
        ``None`` when the files do not say (then git is asked: reftable, a ref being packed)."""
        common = self.common_dir()
        if common is None or depth > 4 or (common / "reftable").is_dir():
            return None
        base = self.git_dir() if ref == "HEAD" else common
        try:
            text = (base / ref).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            text = ""
        if text.startswith("ref: "):
            return self.read_ref(text[len("ref: "):].strip(), depth + 1)
        if check_commit_id(text):
            return text
        try:
            with (common / "packed-refs").open(encoding="utf-8") as packed:
                for line in packed:
                    sha, _, name = line.rstrip("\n").partition(" ")
                    if name == ref and check_commit_id(sha):
                        return sha
        except (OSError, UnicodeDecodeError):
            pass
        return None

    async def head(self) -> str | None:
        """The commit checked out, or ``None`` (no checkout, no commit yet)."""
        if not self.exists():
            return None
        found = self.read_ref("HEAD")
        if found is not None:
            return found
        result = await self.git.run(self.path, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
        return result.stdout.strip() or None if result.ok else None

    async def resolve(self, ref: str) -> str | None:
        """The commit ``ref`` names (a full ref name the caller built), or ``None``."""
        if self.exists():
            found = self.read_ref(ref)
            if found is not None:
                return found
        result = await self.git.run(self.repo_root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        return result.stdout.strip() or None if result.ok else None

    async def contains(self, commit: str) -> bool:
        """True when ``commit`` (a checked commit id) is HEAD or one of its ancestors."""
        result = await self.git.run(self.path, "merge-base", "--is-ancestor", commit, "HEAD", check=False)
        return result.returncode == 0

    def _pathspec(self) -> tuple[str, ...]:
        return ("--", ".", *(f":(exclude){name}" for name in self.exclude))

    async def dirty_paths(self) -> list[str]:
        """Uncommitted changes (``git status --porcelain`` lines), the excluded names left out."""
        result = await self.git.run(self.path, "status", "--porcelain", "--untracked-files=all", *self._pathspec())
        return [line for line in result.stdout.splitlines() if line.strip()]

    async def ahead_behind(self, remote: str) -> tuple[int, int] | None:
        """``(ahead, behind)`` of HEAD against the remote-tracking branch; ``None`` without one."""
        tracking = self.tracking_ref(remote)
        if await self.resolve(tracking) is None or await self.head() is None:
            return None
        return await self._counts(tracking)

    async def _counts(self, tracking: str) -> tuple[int, int]:
        counts = await self.git.output(self.path, "rev-list", "--left-right", "--count", f"HEAD...{tracking}")
        ahead, behind = counts.split()
        return int(ahead), int(behind)

    async def changed_files(self, before: str, after: str) -> list[str]:
        """Paths that differ between two commits (both checked ids)."""
        if before == after:
            return []
        output = await self.git.output(self.path, "diff", "--name-only", "--no-renames", before, after, "--")
        return [line for line in output.splitlines() if line]

    # --- commits -----------------------------------------------------------------------------

    async def commit_options(self) -> list[str]:
        """``-c`` options for a commit made by the server: the fallback identity where none is
        configured, and no signing unless the checkout's own (local or worktree) config turns it
        on (the CLI's rule: a global ``commit.gpgsign`` would fail without the agent's key)."""
        result = await self.git.run(
            self.path, "config", "--show-scope", "--get-regexp", r"^(user\.(name|email)|commit\.gpgsign)$",
            check=False,
        )
        present: set[str] = set()
        signing_here = False
        for line in result.stdout.splitlines():
            parts = line.split(None, 2)
            if len(parts) < 2:
                continue
            scope, key = parts[0], parts[1].lower()
            present.add(key)
            if key == "commit.gpgsign" and scope in ("local", "worktree"):
                signing_here = True
        options = list(QUIET_HOOKS)
        for key, value in FALLBACK_IDENTITY:
            if key not in present:
                options += ["-c", f"{key}={value}"]
        if not signing_here:
            options += ["-c", "commit.gpgsign=false"]
        return options

    async def commit_all(self, message: str) -> bool:
        """Stage every change (the excluded names left out) and commit; ``False`` if none."""
        if not await self.dirty_paths():
            return False
        pathspec = self._pathspec()
        if self.exclude:
            # naming an ignored file, even to exclude it, makes ``git add`` fail: a hub whose
            # .gitignore already lists the lock file (CLI v0.7+) is added whole
            ignored = await self.git.run(self.path, "check-ignore", "--quiet", "--", *self.exclude, check=False)
            if ignored.returncode == 0:
                pathspec = ("--", ".")
        await self.git.run(self.path, *QUIET_HOOKS, "add", "--all", *pathspec)
        return await self.commit_staged(message)

    async def commit_staged(self, message: str, *, amend: bool = False) -> bool:
        """Commit what is staged; ``False`` when nothing is (the CLI counts that as success)."""
        if not amend:
            staged = await self.git.run(self.path, "diff", "--cached", "--quiet", check=False)
            if staged.returncode == 0:
                return False
        options = await self.commit_options()
        extra = ["--amend"] if amend else []
        await self.git.run(self.path, *options, "commit", "--quiet", "--no-verify", *extra, "-m", message)
        return True

    # --- recovery ----------------------------------------------------------------------------

    def _old_enough(self, path: Path) -> bool:
        if self.stale_seconds <= 0:
            return True
        try:
            return time.time() - path.stat().st_mtime >= self.stale_seconds
        except OSError:
            return False

    async def health_check(self) -> list[str]:
        """Repair what a crash leaves behind; returns what was repaired (empty: nothing).

        Best effort, as the CLI's ``hub_health_check``: a failed repair is logged and the
        operation goes on (and then fails with git's own message if the checkout is unusable).
        """
        git_dir = self.git_dir()
        if git_dir is None or not self.exists():
            return []
        repaired: list[str] = []
        index_lock = git_dir / "index.lock"
        if index_lock.exists() and self._old_enough(index_lock):
            index_lock.unlink(missing_ok=True)
            repaired.append("removed a stale index.lock")
        rebase_dirs = [git_dir / "rebase-merge", git_dir / "rebase-apply"]
        if any(d.exists() and self._old_enough(d) for d in rebase_dirs):
            await self.git.run(self.path, *QUIET_HOOKS, "rebase", "--abort", check=False)
            for directory in rebase_dirs:
                if directory.exists():
                    shutil.rmtree(directory, ignore_errors=True)
            index_lock.unlink(missing_ok=True)
            repaired.append("aborted an interrupted rebase")
        if self.head_ref() != self.ref and not any(d.exists() for d in rebase_dirs):
            note = await self._reattach()
            if note:
                repaired.append(note)
        common = self.common_dir()
        if common is not None:
            ref_lock = common / f"{self.ref}.lock"
            if ref_lock.exists() and self._old_enough(ref_lock):
                ref_lock.unlink(missing_ok=True)
                repaired.append(f"removed a stale {self.ref}.lock")
        for note in repaired:
            log.warning("%s: %s", self.path, note)
        return repaired

    async def _reattach(self) -> str | None:
        """Check the branch out again. Commits made on a detached HEAD on top of the branch are
        kept (the branch is moved to them); otherwise the branch's own tip is checked out."""
        head = await self.head()
        tip = await self.resolve(self.ref)
        if head is not None and tip is not None and head != tip:
            on_top = await self.git.run(self.path, "merge-base", "--is-ancestor", tip, head, check=False)
            if on_top.returncode == 0:
                await self.git.run(self.path, "update-ref", self.ref, head, tip, check=False)
        if head is not None and tip is None:
            await self.git.run(self.path, "update-ref", self.ref, head, check=False)
        attempt = await self.git.run(self.path, *QUIET_HOOKS, "checkout", "--quiet", self.branch, check=False)
        if not attempt.ok:
            await self.git.run(self.path, *QUIET_HOOKS, "checkout", "--quiet", "--force", self.branch, check=False)
        if self.head_ref() != self.ref:
            await self.git.run(self.path, "symbolic-ref", "HEAD", self.ref, check=False)
        if self.head_ref() == self.ref:
            return f"re-attached HEAD to {self.branch}"
        log.error("%s: HEAD could not be re-attached to %s", self.path, self.branch)
        return None

    # --- bringing the checkout to the remote ---------------------------------------------------

    async def integrate(self, remote: str, *, keep_dirty: bool = False) -> BranchUpdate:
        """After a fetch: bring the checkout to ``<remote>/<branch>``, keeping local commits.

        Nothing local: a fast-forward (the CLI's ``reset --hard``). Local commits: a rebase onto
        the remote's (the CLI refuses more than :data:`MAX_DIVERGENCE`); a conflict aborts the
        rebase and keeps the local commits as they were (``action="conflict"``).

        :param keep_dirty: uncommitted changes stop the reset instead of being discarded (the
            knowledge branch: a page may be mid-write); the hub's are committed beforehand.
        """
        tracking = self.tracking_ref(remote)
        before = await self.head()
        remote_tip = await self.resolve(tracking)
        if remote_tip is None:
            return BranchUpdate(self.branch, "no-remote-branch", before, before)
        if before is None:
            return BranchUpdate(self.branch, "missing", None, None)
        local, fetched = await self._counts(tracking)
        if fetched == 0:
            return BranchUpdate(self.branch, "up-to-date", before, before, 0, local)
        if keep_dirty and await self.dirty_paths():
            return BranchUpdate(self.branch, "kept-dirty", before, before, fetched, local,
                                "uncommitted changes in the worktree; not updated")
        if local == 0:
            await self.git.run(self.path, *QUIET_HOOKS, "reset", "--quiet", "--hard", tracking)
            return BranchUpdate(self.branch, "fast-forward", before, remote_tip, fetched, 0)
        if local > MAX_DIVERGENCE:
            raise DivergedError(self, remote, local)
        options = await self.commit_options()
        result = await self.git.run(self.path, *options, "rebase", "--quiet", "--no-verify", tracking, check=False)
        if not result.ok:
            await self.git.run(self.path, *QUIET_HOOKS, "rebase", "--abort", check=False)
            detail = GitError(("rebase",), result.returncode, result.stderr or result.stdout).first_line
            log.warning("%s: rebase onto %s failed (%s); aborted, local commits kept", self.path, tracking, detail)
            return BranchUpdate(self.branch, "conflict", before, before, fetched, local, detail)
        return BranchUpdate(self.branch, "rebased", before, await self.head(), fetched, local)

    async def push_once(self, remote: str) -> PushAttempt:
        """``git push <remote> <branch>:<branch>`` once, its outcome classified."""
        result = await self.git.run(
            self.path, *QUIET_HOOKS, "push", "--porcelain", "--no-verify", remote, f"{self.ref}:{self.ref}",
            check=False, remote=True,
        )
        text = f"{result.stdout}\n{result.stderr}"
        if result.ok:
            return PushAttempt("up-to-date" if "[up to date]" in text else "pushed", result.stdout.strip())
        first = GitError(("push",), result.returncode, result.stderr or result.stdout).first_line
        if any(marker in text for marker in REJECTED_MARKERS):
            return PushAttempt("rejected", first)
        if is_offline_error(text):
            return PushAttempt("offline", first)
        return PushAttempt("failed", first)

    async def mark_pushed(self, remote: str) -> None:
        """Record HEAD as the remote's branch (what a fetch would record after the push; git
        push does it itself when the remote's fetch refspec covers the branch)."""
        head = await self.head()
        if head is not None and await self.resolve(self.tracking_ref(remote)) != head:
            await self.git.run(self.repo_root, "update-ref", self.tracking_ref(remote), head, check=False)


class DivergedError(Exception):
    """More local commits than the CLI would rebase: a sign of a rebase loop."""

    def __init__(self, checkout: Checkout, remote: str, local: int) -> None:
        self.checkout = checkout
        self.remote = remote
        self.local = local
        super().__init__(
            f"{checkout.branch} has {local} local commits not on {remote} (more than {MAX_DIVERGENCE}); "
            f"this looks like a rebase loop. Look at them with: cd {checkout.path} && git log --oneline "
            f"{remote}/{checkout.branch}..HEAD"
        )
