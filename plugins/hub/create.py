"""Creating the hub checkout ``.crosslink/.hub-cache`` the way the crosslink CLI's ``init_cache`` does.

1. A local ``crosslink/hub`` branch exists: it is checked out into the worktree.
2. The remote has ``crosslink/hub``: it is fetched and checked out as a local branch that tracks
   the remote's.
3. Otherwise a new orphan branch is made, laid out as the CLI v0.8 lays out a new hub, in one
   commit "Initialize crosslink/hub branch": an empty ``locks.json``, ``meta/version.json``
   (``{"layout_version": 2}``), ``meta/bootstrap.json`` (``{"status": "pending"}``) and a
   ``.gitignore`` holding ``.hub-write-lock``; the empty directories ``heartbeats/ trust/
   issues/ meta/milestones/ locks/`` are created in the worktree (git does not track them).
   The commit is built with git plumbing (``hash-object``, ``mktree``, ``commit-tree``,
   ``update-ref`` refusing to overwrite), which works on every git version (``worktree add
   --orphan`` needs git 2.42) and never touches a working tree.

When a remote is configured but cannot be reached, creation fails (503) instead of starting a
new branch that would diverge from the remote's. Nothing is pushed.
"""

from __future__ import annotations

import json

from .checkout import FALLBACK_IDENTITY, QUIET_HOOKS, Checkout, is_offline_error
from .errors import git_failed, remote_unreachable
from .git import GitError

INIT_MESSAGE = "Initialize crosslink/hub branch"
LAYOUT_VERSION = 2
EMPTY_DIRECTORIES = ("heartbeats", "trust", "issues", "meta/milestones", "locks")


def _pretty(data: object) -> bytes:
    """serde_json's ``to_string_pretty``: two-space indent, no trailing newline."""
    return json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8")


def initial_files() -> dict[str, bytes]:
    """The files of a new hub's first commit, byte for byte what the CLI v0.8 writes."""
    return {
        ".gitignore": b".hub-write-lock\n",
        "locks.json": _pretty({"version": 1, "locks": {}, "settings": {"stale_lock_timeout_minutes": 60}}),
        "meta/bootstrap.json": _pretty({"status": "pending"}),
        "meta/version.json": _pretty({"layout_version": LAYOUT_VERSION}),
    }


async def _tree(checkout: Checkout, files: dict[str, bytes]) -> str:
    """A tree object (with sub-trees) holding ``files``."""
    git, root = checkout.git, checkout.repo_root
    top: dict[str, bytes] = {}
    nested: dict[str, dict[str, bytes]] = {}
    for path, data in files.items():
        head, _, rest = path.partition("/")
        if rest:
            nested.setdefault(head, {})[rest] = data
        else:
            top[head] = data
    lines = []
    for name, data in top.items():
        blob = await git.output(root, "hash-object", "-w", "--stdin", stdin=data)
        lines.append(f"100644 blob {blob}\t{name}")
    for name, children in nested.items():
        lines.append(f"040000 tree {await _tree(checkout, children)}\t{name}")
    return await git.output(root, "mktree", stdin=("\n".join(lines) + "\n").encode())


async def _identity_options(checkout: Checkout) -> list[str]:
    result = await checkout.git.run(checkout.repo_root, "config", "--get-regexp", r"^user\.(name|email)$", check=False)
    present = {line.split(" ", 1)[0].lower() for line in result.stdout.splitlines() if " " in line}
    options: list[str] = []
    for key, value in FALLBACK_IDENTITY:
        if key not in present:
            options += ["-c", f"{key}={value}"]
    return options


async def create_orphan_branch(checkout: Checkout) -> str:
    """Make the local branch with the CLI's first commit; returns the commit id."""
    tree = await _tree(checkout, initial_files())
    options = await _identity_options(checkout)
    commit = await checkout.git.output(
        checkout.repo_root, *options, "-c", "commit.gpgsign=false", "commit-tree", tree, "-m", INIT_MESSAGE
    )
    # the empty old value makes update-ref refuse if the branch appeared meanwhile
    await checkout.git.run(checkout.repo_root, "update-ref", checkout.ref, commit, "")
    return commit


async def remote_has_branch(checkout: Checkout, remote: str, operation: str) -> bool:
    """Whether ``remote`` has the checkout's branch (``ls-remote``); 503 when it cannot be reached."""
    try:
        listing = await checkout.git.run(
            checkout.repo_root, "ls-remote", "--heads", "--", remote, checkout.ref, check=False, remote=True
        )
    except GitError as exc:  # timed out
        raise remote_unreachable(remote, operation, exc.first_line) from None
    if not listing.ok:
        reason = GitError(("ls-remote",), listing.returncode, listing.stderr).first_line
        if is_offline_error(listing.stderr) or listing.returncode == 128:
            raise remote_unreachable(remote, operation, reason)
        raise git_failed(operation, "git ls-remote", reason)
    return bool(listing.stdout.strip())


async def create_checkout(checkout: Checkout, remote: str | None, operation: str = "init") -> str:
    """Create the worktree; returns how (``local-branch``, ``remote`` or ``new``).

    :param remote: a configured remote (checked name), or ``None`` for a repository without one.
    """
    git, root, path = checkout.git, checkout.repo_root, checkout.path
    probe = await git.run(root, "rev-parse", "--git-dir", check=False)
    if not probe.ok:
        raise git_failed(operation, "Creating the hub", f"{root} is not a git repository")
    await git.run(root, "worktree", "prune", check=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    has_local = await checkout.resolve(checkout.ref) is not None
    try:
        if has_local:
            await git.run(root, *QUIET_HOOKS, "worktree", "add", "--quiet", "--", str(path), checkout.branch)
            return "local-branch"
        if remote is not None and await remote_has_branch(checkout, remote, operation):
            tracking = checkout.tracking_ref(remote)
            try:
                await git.run(root, "fetch", "--quiet", "--no-tags", "--", remote, f"+{checkout.ref}:{tracking}",
                              remote=True)
            except GitError as exc:
                raise remote_unreachable(remote, operation, exc.first_line) from None
            await git.run(root, *QUIET_HOOKS, "worktree", "add", "--quiet", "--track", "-b", checkout.branch, "--",
                          str(path), tracking)
            return "remote"
        await create_orphan_branch(checkout)
        await git.run(root, *QUIET_HOOKS, "worktree", "add", "--quiet", "--", str(path), checkout.branch)
    except GitError as exc:
        raise git_failed(operation, "Creating the hub checkout", exc.first_line) from None
    for directory in EMPTY_DIRECTORIES:
        (path / directory).mkdir(parents=True, exist_ok=True)
    return "new"

