"""Issues through the crosslink hub: in a repository whose hub is in use, the hub is the truth.

When ``.crosslink/.hub-cache`` is a checkout of ``crosslink/hub`` (:meth:`HubOwner.in_use`),
every issue mutation of the API is written as the CLI's shared writer (v0.8) writes it, through
the hub owner (:meth:`plugins.hub.HubOwner.write`: the CLI's write lock, commit, push,
rebase-and-retry), and then SQLite is brought to the hub state as the CLI's hydration leaves it
(:mod:`.hydration`), so the API answers with the id every machine sees:

* files in the hub's layout (V1 flat with inline comments, V2 directories with comment files),
  the CLI's field names and omissions (:mod:`.hubfiles`); display ids (and V1 comment ids,
  milestone ids) claimed from ``meta/counters.json`` in the same commit, raised above the highest
  id on disk first; commit messages ``<agent>: <what> at <time>`` with the server's agent id
  (``[hub] agent_id``), which is also ``created_by`` of what it creates;
* **offline** (the remote unreachable, or every push rejected): a create becomes an offline
  issue as the CLI's ``rewrite_as_offline`` makes it (``display_id: null`` amended into the
  commit, the counter given back), with a negative id in SQLite (``L1`` = -1); the server
  promotes its own offline issues (``created_by`` = its agent id) after the next successful
  push, as ``crosslink sync`` promotes the CLI's; without any remote configured, issues are
  numbered as usual and the commits stay local until a remote is set up;
* **hydration** whenever the hub moves (the owner's notifications: fetch, push, a CLI commit
  seen by the watcher) and at startup (a crash between a commit and its hydration is repaired
  there), with ``issue_updated`` for each change;
* rows that exist **only in SQLite** (issues with ``created_by`` NULL and a uuid the hub lacks,
  made before this feature or by an older server, with their labels, comments, blockers,
  relations and milestone; comments such a server added to hub issues) are written into the
  hub before a hydration could lose them: an issue keeps its number when the hub does not use
  it, otherwise it gets the next free one; each is logged.

Repositories without a hub keep the plain SQLite behaviour (:mod:`.service`).
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kernel import APIError

from . import hubfiles as hf
from .events import IssueUpdated
from .hubfiles import Comment, HubReader, HubState, IssueFile, MilestoneFile, Stamp
from .hubmigrate import sqlite_only
from .hydration import changes, current_rows, desired_rows, write_difference

if TYPE_CHECKING:
    from kernel.app import Kernel
    from plugins.hub import HubOwner, WriteReport

log = logging.getLogger("crosslink.issues.hub")

#: Push attempts of one write (each rejection is a fetch, a rebase and a new ``prepare``): more
#: than the CLI's 3, so that servers and agents creating at the same moment all get through.
WRITE_ATTEMPTS = 10
#: Machine-local: the hub commit this server last hydrated (beside the CLI's .last-hydrated-ref).
MARKER_FILE = ".server-hydrated-ref"

#: Set inside :meth:`HubIssues.hydrate` (and the hub operations it starts, which inherit it):
#: a notification arriving there comes from the hydration's own write and must not wait for it.
_IN_HYDRATION: contextvars.ContextVar[bool] = contextvars.ContextVar("in_hydration", default=False)

Files = dict[str, Any]  # relative path -> dict (JSON), bytes, or None (remove)


@dataclass
class HubWrite:
    """What a write through the hub did, for the API answer."""

    pushed: bool = False
    offline: bool = False
    commit: str | None = None

    @property
    def state(self) -> str:
        return "pushed" if self.pushed else "offline" if self.offline else "local"


class HubIssues:
    """The issue writes and hydration of one server on a hub repository."""

    def __init__(self, kernel: Kernel, on_written: Callable[[], None] = lambda: None) -> None:
        self.kernel = kernel
        self.db = kernel.db
        self.reader = HubReader()
        self.on_written = on_written
        self._lock = asyncio.Lock()
        self._pending = False
        self._hydrated: str | None = None
        #: The last hydration saw offline issues of this server (``None``: not known yet).
        self._own_offline_seen: bool | None = None
        self._owner: HubOwner | None = None

    # --- the hub ---------------------------------------------------------------------------------

    @property
    def owner(self) -> HubOwner:
        if self._owner is None:
            from plugins.hub import get_hub

            self._owner = get_hub(self.kernel)
        return self._owner

    @property
    def agent_id(self) -> str:
        return self.owner.agent_id

    def active(self) -> bool:
        """The repository's hub is in use: issues go through it."""
        return self.owner.in_use()

    def describe(self) -> str:
        """The startup line: where issue writes go."""
        if not self.active():
            return "  Issues:    SQLite only (no crosslink hub checkout in use)"
        return (f"  Issues:    through the crosslink hub (layout V{hf.layout_version(self.owner.hub.path)}, "
                f"agent id {self.agent_id})")

    def _now(self) -> Stamp:
        return Stamp.of(self.kernel.clock.now())

    def _message(self, what: str) -> str:
        return f"{self.agent_id}: {what} at {hf.commit_time(self.kernel.clock.now())}"

    async def _read(self, path: Path | None = None) -> HubState:
        return await asyncio.to_thread(self.reader.read, path or self.owner.hub.path)

    def _marker(self) -> Path:
        return self.kernel.crosslink_dir / MARKER_FILE

    # --- hydration -------------------------------------------------------------------------------

    async def on_hub_moved(self, moved) -> None:
        """The owner's notification: hydrate what moved; after a push or fetch that reached the
        remote, promote this server's offline issues."""
        if not self.active():
            return
        if _IN_HYDRATION.get():
            self._pending = True  # our own hydration's write: it looks again before it ends
        else:
            await self.hydrate()  # waits for a hydration running elsewhere, then takes this move in
        if moved.reason in ("push", "fetch"):
            await self.promote_quietly()

    async def startup(self) -> None:
        """Hydrate once at start (repairs a crash between a hub commit and its hydration)."""
        self.kernel.keep_out_of_git(MARKER_FILE)
        if self.active():
            try:
                await self.hydrate(force=True)
            except Exception:  # the server still answers; the next hub move or write tries again
                log.exception("hydrating SQLite from the hub at startup failed")

    async def ensure_current(self) -> None:
        """Hydrate first when the hub moved since the last hydration (a CLI commit not yet seen)."""
        if await self.owner.hub.head() != self._hydrated:
            await self.hydrate()

    async def hydrate(self, *, force: bool = False) -> list[tuple[int, str]]:
        """Bring SQLite to the hub (migrating SQLite-only rows into it first); the changes made.

        One hydration at a time: a caller arriving while another runs waits for it, then looks
        at the hub again (so a notification is never answered before its move is in SQLite).
        """
        async with self._lock:
            token = _IN_HYDRATION.set(True)
            try:
                return await self._hydrate_locked(force)
            finally:
                _IN_HYDRATION.reset(token)

    async def _hydrate_locked(self, force: bool) -> list[tuple[int, str]]:
        done: list[tuple[int, str]] = []
        migrated = False
        while True:
            self._pending = False
            head = await self.owner.hub.head()
            if head == self._hydrated and not force:
                break
            force = False
            state = await self._read()
            if not migrated and await self._migrate(state):
                migrated = force = True
                continue  # the hub moved: read it again (and hydrate what was written)
            done += await self._apply(state)
            self._hydrated = head
            await asyncio.to_thread(self._write_marker, head)
            if not self._pending:
                break
        return done

    def _write_marker(self, head: str | None) -> None:
        try:
            self._marker().write_text(head or "")
        except OSError:
            pass

    def _hydrated_before(self) -> bool:
        return self._marker().exists()

    async def _apply(self, state: HubState) -> list[tuple[int, str]]:
        self._own_offline_seen = bool(self._own_offline(state))
        if not state.issues and not state.milestones:
            return []  # the CLI leaves SQLite alone when the hub has no issue files
        new = desired_rows(state)
        now = Stamp.of(self.kernel.clock.now()).sqlite()
        async with self.db.transaction():
            old = await current_rows(self.db)
            if old == new:
                return []
            found = changes(old, new)
            await write_difference(self.db, old, new, now)
            for issue_id, name in found:
                self.kernel.publish(IssueUpdated(issue_id=issue_id, field=name))
        if found:
            self.on_written()
        return found

    # --- writing ---------------------------------------------------------------------------------

    async def _write(self, build: Callable[[HubState, dict], tuple[Files, str] | None]) -> tuple[HubWrite, dict]:
        """Run one CLI-style write: ``build(state, out)`` returns the files and the message (or
        ``None``: nothing to change); then hydrate."""
        await self.ensure_current()
        out: dict[str, Any] = {}

        async def prepare(path: Path, attempt: int):
            from plugins.hub import HubChange

            state = await self._read(path)
            out.clear()
            built = build(state, out)
            if built is None:
                return None
            files, what = built
            return HubChange({p: _encode(v) for p, v in files.items()}, self._message(what))

        report = await self.owner.write(prepare, attempts=WRITE_ATTEMPTS)
        # offline: a remote that could not be reached, or that kept rejecting; with no remote
        # configured at all there is no other machine to collide with: numbered, kept local
        unreachable = report.offline and await self.owner.remote_url(report.remote) is not None
        result = HubWrite(pushed=report.pushed, offline=unreachable or report.gave_up, commit=report.commit)
        if report.commit is not None and result.offline and out.get("created_uuid"):
            await self._rewrite_offline(report, out["created_uuid"], out["message"], out["counters_before"])
        await self.hydrate()
        if report.pushed:
            await self.promote_quietly()
        return result, out

    async def _rewrite_offline(self, report: WriteReport, issue_uuid: str, what: str,
                               counters_before: dict | None) -> None:
        """The CLI's ``rewrite_as_offline``: ``display_id`` null, the counter given back (the file
        as it was, so the commit holds the issue file alone and rebases without a conflict later),
        amended into the create's commit."""
        from plugins.hub import HubChange

        async def prepare(path: Path, attempt: int):
            state = await self._read(path)
            issue = copy.deepcopy(state.issues.get(issue_uuid))
            if issue is None or issue.display_id is None:
                return None
            issue.display_id = None
            amend = await self.owner.hub.head() == report.commit
            files = {hf.issue_path(state.layout, issue_uuid): issue.to_dict()}
            if amend:
                files[hf.COUNTERS_PATH] = counters_before
            else:
                counters = hf.read_counters(path)
                counters.next_display_id = max(1, counters.next_display_id - 1)
                files[hf.COUNTERS_PATH] = counters.to_dict()
            return HubChange({p: _encode(v) for p, v in files.items()}, self._message(what), amend=amend)

        await self.owner.write(prepare, push=False)

    async def _issue_uuid(self, issue_id: int, what: str = "Issue", status: int = 404) -> str:
        row = await self.db.fetch_one("SELECT uuid FROM issues WHERE id = ?", [issue_id])
        if row is None:
            raise APIError(status, f"{what} #{issue_id} does not exist" if status == 404
                           else f"parent_id: issue #{issue_id} does not exist")
        if row["uuid"] is None:
            raise APIError(409, f"Issue #{issue_id} has no uuid, so it cannot be found in the hub")
        return row["uuid"]

    async def _milestone_uuid(self, milestone_id: int) -> str:
        value = await self.db.fetch_value("SELECT uuid FROM milestones WHERE id = ?", [milestone_id])
        if value is None:
            raise APIError(404, f"Milestone #{milestone_id} does not exist")
        return value

    @staticmethod
    def _in_hub(state: HubState, issue_uuid: str, issue_id: int, what: str = "Issue") -> IssueFile:
        issue = state.issues.get(issue_uuid)
        if issue is None:
            raise APIError(404, f"{what} #{issue_id} does not exist in the hub (removed on another machine?)")
        return copy.deepcopy(issue)  # the reader keeps what it parsed: edit a copy

    @staticmethod
    def _issue_files(state: HubState, root: Path, issue: IssueFile) -> Files:
        """The issue's file at the layout's path (a leftover V1 file removed on V2, as v0.8 does)."""
        files: Files = {hf.issue_path(state.layout, issue.uuid): issue.to_dict()}
        if state.layout >= 2 and (root / "issues" / f"{issue.uuid}.json").exists():
            files[f"issues/{issue.uuid}.json"] = None
        return files

    async def _issue_id_of(self, issue_uuid: str) -> int:
        value = await self.db.fetch_value("SELECT id FROM issues WHERE uuid = ?", [issue_uuid])
        if value is None:
            raise APIError(500, "the hub write did not reach SQLite; see the server log", error="hub hydration")
        return int(value)

    # --- issues ----------------------------------------------------------------------------------

    async def create(self, title: str, description: str | None, priority: str, parent_id: int | None, *,
                     missing_parent_status: int = 400, labels=(), milestone_id: int | None = None
                     ) -> tuple[int, HubWrite, int | None]:
        """Create (a subissue when ``parent_id``): ``(id, what the write did, display id)``."""
        await self.ensure_current()
        parent_uuid = None
        if parent_id is not None:
            parent_uuid = await self._issue_uuid(parent_id, "Parent issue", 404 if missing_parent_status == 404 else 400)
        milestone_uuid = await self._milestone_uuid(milestone_id) if milestone_id is not None else None
        new_uuid = hf.new_uuid()
        now = self._now()
        root = self.owner.hub.path
        what = f"create subissue under #{parent_id}: {title}" if parent_id is not None else f"create issue: {title}"

        def build(state: HubState, out: dict):
            if parent_uuid is not None:
                self._in_hub(state, parent_uuid, parent_id, "Parent issue")
            if milestone_uuid is not None and not any(m.uuid == milestone_uuid for m in state.milestones):
                raise APIError(404, f"Milestone #{milestone_id} does not exist in the hub")
            counters = hf.reconciled(state)
            display_id = counters.next_display_id
            counters.next_display_id += 1
            issue = IssueFile(
                uuid=new_uuid, display_id=display_id, title=title, status="open", priority=priority,
                created_by=self.agent_id, created_at=now, updated_at=now, description=description,
                parent_uuid=parent_uuid, labels=list(dict.fromkeys(labels)), milestone_uuid=milestone_uuid,
            )
            if state.layout >= 2:
                (root / "issues" / new_uuid / "comments").mkdir(parents=True, exist_ok=True)
            counters_file = root / hf.COUNTERS_PATH
            out.update(created_uuid=new_uuid, message=what,
                       counters_before=counters_file.read_bytes() if counters_file.exists() else None)
            return {hf.issue_path(state.layout, new_uuid): issue.to_dict(), hf.COUNTERS_PATH: counters.to_dict()}, what

        result, _ = await self._write(build)
        issue_id = await self._issue_id_of(new_uuid)
        return issue_id, result, (issue_id if issue_id > 0 else None)

    async def _edit(self, issue_id: int, edit: Callable[[IssueFile, HubState], str | None]) -> bool:
        """Change one issue file: ``edit`` changes the issue and returns the commit subject, or
        ``None`` when there is nothing to change. True if a change was written."""
        await self.ensure_current()
        issue_uuid = await self._issue_uuid(issue_id)
        root = self.owner.hub.path

        def build(state: HubState, out: dict):
            issue = self._in_hub(state, issue_uuid, issue_id)
            what = edit(issue, state)
            if what is None:
                return None
            out["changed"] = True
            return self._issue_files(state, root, issue), what

        _, out = await self._write(build)
        return bool(out.get("changed"))

    async def update(self, issue_id: int, fields: dict[str, Any]) -> list[str]:
        now = self._now()
        changed: list[str] = []

        def edit(issue: IssueFile, state: HubState):
            changed.clear()
            for name, value in fields.items():
                if getattr(issue, name) != value:
                    setattr(issue, name, value)
                    changed.append(name)
            if not changed:
                return None
            issue.updated_at = now
            return f"update issue #{issue_id}"

        await self._edit(issue_id, edit)
        return changed

    async def set_status(self, issue_id: int, status: str) -> bool:
        now = self._now()

        def edit(issue: IssueFile, state: HubState):
            if issue.status == status:
                return None
            issue.status = status
            issue.closed_at = now if status == "closed" else None
            issue.updated_at = now
            return f"{'close' if status == 'closed' else 'reopen'} issue #{issue_id}"

        return await self._edit(issue_id, edit)

    async def delete(self, issue_id: int) -> list[int]:
        await self.ensure_current()
        issue_uuid = await self._issue_uuid(issue_id)
        before = {row["uuid"]: row["id"] for row in await self.db.fetch_all("SELECT id, uuid FROM issues")}
        removed: list[str] = []

        def build(state: HubState, out: dict):
            self._in_hub(state, issue_uuid, issue_id)
            subtree, frontier = [issue_uuid], [issue_uuid]
            while frontier:
                children = [i.uuid for i in state.issues.values() if i.parent_uuid in frontier and i.uuid not in subtree]
                subtree += children
                frontier = children
            removed[:] = subtree
            root = self.owner.hub.path
            files: Files = {}
            for gone in subtree:
                if (root / "issues" / f"{gone}.json").exists():
                    files[f"issues/{gone}.json"] = None
                if (root / "issues" / gone).is_dir():
                    files[f"issues/{gone}"] = None
            return files, f"delete issue #{issue_id}"

        await self._write(build)
        return [before[u] for u in removed if u in before]

    # --- comments --------------------------------------------------------------------------------

    async def comment(self, issue_id: int, content: str, kind: str, author: str | None,
                      trigger_type: str | None, intervention_context: str | None) -> int:
        await self.ensure_current()
        issue_uuid = await self._issue_uuid(issue_id)
        now = self._now()
        comment_uuid = hf.new_uuid()
        root = self.owner.hub.path
        what = f"{'intervention' if kind == 'intervention' else 'comment'} on issue #{issue_id}"

        def build(state: HubState, out: dict):
            issue = self._in_hub(state, issue_uuid, issue_id)
            counters = hf.reconciled(state)
            comment_id = counters.next_comment_id
            counters.next_comment_id += 1
            comment = Comment(author=author or self.agent_id, content=content, created_at=now, kind=kind,
                              trigger_type=trigger_type, intervention_context=intervention_context)
            out["comment_id"] = comment_id
            if state.layout >= 2:
                comment.uuid, comment.issue_uuid = comment_uuid, issue_uuid
                files: Files = {hf.comment_path(issue_uuid, comment_uuid): comment.file_dict()}
            else:
                comment.id = comment_id
                issue.comments.append(comment)
                issue.updated_at = now
                files = self._issue_files(state, root, issue)
            files[hf.COUNTERS_PATH] = counters.to_dict()
            out["layout"] = state.layout
            return files, what

        _, out = await self._write(build)
        if out.get("layout", 1) >= 2:
            value = await self.db.fetch_value("SELECT id FROM comments WHERE uuid = ?", [comment_uuid])
            if value is None:
                raise APIError(500, "the hub write did not reach SQLite; see the server log", error="hub hydration")
            return int(value)
        return int(out["comment_id"])

    # --- labels and blockers ---------------------------------------------------------------------

    async def add_label(self, issue_id: int, label: str) -> None:
        now = self._now()

        def edit(issue: IssueFile, state: HubState):
            if label in issue.labels:
                raise APIError(409, f"Issue #{issue_id} already has the label '{label}'")
            issue.labels.append(label)
            issue.updated_at = now
            return f"label issue #{issue_id} with {label}"

        await self._edit(issue_id, edit)

    async def remove_label(self, issue_id: int, label: str) -> None:
        now = self._now()

        def edit(issue: IssueFile, state: HubState):
            if label not in issue.labels:
                raise APIError(404, f"Label '{label}' is not on issue #{issue_id}")
            issue.labels.remove(label)
            issue.updated_at = now
            return f"unlabel {label} from issue #{issue_id}"

        await self._edit(issue_id, edit)

    async def add_blocker(self, issue_id: int, blocker_id: int) -> None:
        blocker_uuid = await self._issue_uuid(blocker_id, "Blocker issue")
        now = self._now()

        def edit(issue: IssueFile, state: HubState):
            self._in_hub(state, blocker_uuid, blocker_id, "Blocker issue")
            if blocker_uuid in issue.blockers:
                raise APIError(409, f"Issue #{issue_id} is already blocked by #{blocker_id}")
            issue.blockers.append(blocker_uuid)
            issue.updated_at = now
            return f"block issue #{issue_id} on #{blocker_id}"

        await self._edit(issue_id, edit)

    async def remove_blocker(self, issue_id: int, blocker_id: int) -> None:
        blocker_uuid = await self.db.fetch_value("SELECT uuid FROM issues WHERE id = ?", [blocker_id])
        now = self._now()

        def edit(issue: IssueFile, state: HubState):
            if blocker_uuid is None or blocker_uuid not in issue.blockers:
                raise APIError(404, f"Issue #{blocker_id} is not a blocker of issue #{issue_id}")
            issue.blockers.remove(blocker_uuid)
            issue.updated_at = now
            return f"unblock issue #{issue_id} from #{blocker_id}"

        await self._edit(issue_id, edit)

    # --- milestones ------------------------------------------------------------------------------

    async def create_milestone(self, name: str, description: str | None) -> int:
        now = self._now()
        milestone_uuid = hf.new_uuid()

        def build(state: HubState, out: dict):
            counters = hf.reconciled(state)
            display_id = counters.next_milestone_id
            counters.next_milestone_id += 1
            entry = MilestoneFile(milestone_uuid, display_id, name, "open", now, description=description)
            out["id"] = display_id
            return ({hf.milestone_path(milestone_uuid): entry.to_dict(), hf.COUNTERS_PATH: counters.to_dict()},
                    f"create milestone: {name}")

        _, out = await self._write(build)
        return int(out["id"])

    async def set_milestone_status(self, milestone_id: int, status: str) -> bool:
        milestone_uuid = await self._milestone_uuid(milestone_id)
        now = self._now()

        def build(state: HubState, out: dict):
            entry = copy.deepcopy(next((m for m in state.milestones if m.uuid == milestone_uuid), None))
            if entry is None:
                raise APIError(404, f"Milestone #{milestone_id} does not exist in the hub")
            if entry.status == status:
                return None
            entry.status = status
            entry.closed_at = now if status == "closed" else None
            out["changed"] = True
            verb = "close" if status == "closed" else "reopen"
            return {hf.milestone_path(milestone_uuid): entry.to_dict()}, f"{verb} milestone #{milestone_id}"

        _, out = await self._write(build)
        return bool(out.get("changed"))

    async def assign_milestone(self, milestone_id: int, issue_id: int) -> bool:
        milestone_uuid = await self._milestone_uuid(milestone_id)
        now = self._now()

        def edit(issue: IssueFile, state: HubState):
            if not any(m.uuid == milestone_uuid for m in state.milestones):
                raise APIError(404, f"Milestone #{milestone_id} does not exist in the hub")
            if issue.milestone_uuid == milestone_uuid:
                return None
            issue.milestone_uuid = milestone_uuid
            issue.updated_at = now
            return f"add 1 issue(s) to milestone #{milestone_id}"

        return await self._edit(issue_id, edit)

    async def unassign_milestone(self, milestone_id: int, issue_id: int) -> None:
        milestone_uuid = await self._milestone_uuid(milestone_id)
        now = self._now()

        def edit(issue: IssueFile, state: HubState):
            if issue.milestone_uuid != milestone_uuid:
                raise APIError(404, f"Issue #{issue_id} is not in milestone #{milestone_id}")
            issue.milestone_uuid = None
            issue.updated_at = now
            return f"remove issue #{issue_id} from milestone"

        await self._edit(issue_id, edit)

    # --- offline issues --------------------------------------------------------------------------

    def _promoted_uuids(self) -> set[str]:
        try:
            text = (self.kernel.crosslink_dir / ".promoted-uuids").read_text()
        except OSError:
            return set()
        return {line.strip() for line in text.splitlines() if line.strip()}

    def _own_offline(self, state: HubState) -> list[IssueFile]:
        promoted = self._promoted_uuids()
        own = [i for i in state.issues.values()
               if i.display_id is None and i.created_by == self.agent_id and i.uuid not in promoted]
        return [copy.deepcopy(i) for i in sorted(own, key=lambda i: i.created_at)]

    async def promote_quietly(self) -> None:
        """:meth:`promote`, logging (not raising) a failure: it runs after another operation."""
        try:
            await self.promote()
        except Exception:
            log.exception("promoting this server's offline issues failed; the next push tries again")

    async def promote(self) -> int:
        """Give this server's offline issues display ids (``promote N offline issue(s)``), pushed;
        the number promoted (0 when none, or when the push did not get through)."""
        if not self.active() or self._own_offline_seen is False:
            return 0  # the hub as last hydrated has none (a read of the whole hub saved per write)
        if not self._own_offline(await self._read()):
            return 0

        def build(state: HubState, out: dict):
            own = self._own_offline(state)
            if not own:
                return None
            counters = hf.reconciled(state)
            files: Files = {}
            root = self.owner.hub.path
            for issue in own:
                issue.display_id = counters.next_display_id
                counters.next_display_id += 1
                files.update(self._issue_files(state, root, issue))
            files[hf.COUNTERS_PATH] = counters.to_dict()
            out["count"] = len(own)
            out["uuids"] = [i.uuid for i in own]
            return files, f"promote {len(own)} offline issue(s)"

        result, out = await self._write(build)
        if not result.pushed:
            return 0
        log.info("promoted %d offline issue(s) of %s", out.get("count", 0), self.agent_id)
        return int(out.get("count", 0))

    # --- rows only in SQLite ---------------------------------------------------------------------

    async def _migrate(self, state: HubState) -> bool:
        """Write SQLite-only rows into the hub (see the module docstring); True if it wrote."""
        plan = await sqlite_only(self.db, state, first=not self._hydrated_before(), now=self._now())
        if plan is None:
            return False
        report_lines: list[str] = []

        def build(fresh: HubState, out: dict):
            files, lines = plan.files(fresh, self.agent_id, self.owner.hub.path)
            if not files:
                return None
            report_lines[:] = lines
            return files, f"write {plan.count()} SQLite-only issue(s) and comment(s) to the hub"

        from plugins.hub import HubChange

        async def prepare(path: Path, attempt: int):
            fresh = await self._read(path)
            built = build(fresh, {})
            if built is None:
                return None
            files, what = built
            return HubChange({p: _encode(v) for p, v in files.items()}, self._message(what))

        report = await self.owner.write(prepare, attempts=WRITE_ATTEMPTS)
        for line in report_lines:
            log.warning("%s", line)
        return report.commit is not None



def _encode(value: Any) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    return hf.dumps(value)


__all__ = ["HubIssues", "HubWrite"]
