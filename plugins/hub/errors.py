"""The errors of hub operations, each an API error that says what happened and what to do.

They are :class:`kernel.api.APIError` instances, so a route that lets one through answers
``{"error": <category>, "detail": <what and what to do>, ...}`` with the right status; the extra
fields (``operation``, ``remote``) let a dashboard react without parsing the text.
"""

from __future__ import annotations

from kernel.api import APIError

from .git import InvalidGitName

INIT_HINT = "POST /api/v1/sync/init creates it (attaching to the remote's crosslink/hub when it has one)"


def not_initialised(path: str, operation: str) -> APIError:
    """409: the hub checkout does not exist."""
    return APIError(
        409,
        f"The hub is not initialized: there is no checkout of crosslink/hub at {path}. {INIT_HINT}, "
        "or run `crosslink sync` with the CLI.",
        error="hub not initialized",
        operation=operation,
    )


def not_a_checkout(path: str, branch: str, operation: str) -> APIError:
    """409: the directory exists but is not a usable worktree of the branch."""
    return APIError(
        409,
        f"{path} exists but is not a git worktree of {branch}; move it aside and create it again "
        "(POST /api/v1/sync/init)",
        error="hub not initialized",
        operation=operation,
    )


def remote_missing(remote: str, operation: str) -> APIError:
    """409: no remote of that name is configured in the repository."""
    return APIError(
        409,
        f"The repository has no git remote named '{remote}'. Add it (`git remote add {remote} <url>`) or "
        "point crosslink at another one (PATCH /api/v1/config with {\"remote\": \"<name>\"}, stored as "
        "tracker_remote in .crosslink/hook-config.json).",
        error="remote missing",
        operation=operation,
        remote=remote,
    )


def remote_unreachable(remote: str, operation: str, reason: str) -> APIError:
    """503: the remote is configured but could not be reached (network, host, missing repository)."""
    return APIError(
        503,
        f"Cannot reach the remote '{remote}' ({reason}). Nothing was lost: local hub commits stay in the "
        "checkout and are pushed by the next successful push. Check the network and the remote's URL "
        f"(`git remote get-url {remote}`), then try again.",
        error="remote unreachable",
        operation=operation,
        remote=remote,
    )


def busy(operation: str, seconds: float) -> APIError:
    """409: another operation kept the hub for longer than a request waits."""
    return APIError(
        409,
        f"Another hub operation has been running for more than {seconds:.0f} s; try again when it is done "
        "(GET /api/v1/sync/status shows the last result).",
        error="hub busy",
        operation=operation,
    )


def rebase_conflict(branch: str, remote: str, operation: str, local: int, detail: str | None, path: str) -> APIError:
    """409: the local commits conflict with the remote's; they were kept as they were."""
    return APIError(
        409,
        f"The {local} local commit(s) on {branch} conflict with {remote}/{branch} ({detail or 'rebase failed'}); "
        f"the rebase was aborted and the local commits kept. Resolve it in {path} "
        f"(git rebase {remote}/{branch}), then sync again.",
        error="rebase conflict",
        operation=operation,
        remote=remote,
    )


def diverged(message: str, operation: str, remote: str) -> APIError:
    """409: more local commits than the CLI would rebase."""
    return APIError(409, message, error="diverged", operation=operation, remote=remote)


def git_failed(operation: str, what: str, detail: str) -> APIError:
    """500: git itself failed in a way none of the above explains; its message is included."""
    return APIError(500, f"{what} failed: {detail}", error="git failed", operation=operation)


def bad_name(exc: InvalidGitName) -> APIError:
    """400: a remote or branch name that must not reach git."""
    return APIError(400, str(exc), fields=[{"field": exc.field, "message": f"not a usable git {exc.kind} name"}])
