"""Milestones: groups of issues with progress computed by aggregate SQL.

An issue belongs to at most one milestone: assigning moves it. The crosslink CLI allows several
links per issue; where the data has several, the issue detail shows the lowest milestone id.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from kernel import APIError

from . import shape, store
from .events import IssueUpdated
from .models import Milestone

if TYPE_CHECKING:
    from kernel.app import Kernel

    from .hubsync import HubIssues


def not_found(milestone_id: int) -> APIError:
    return APIError(404, f"Milestone #{milestone_id} does not exist")


class MilestonesService:
    def __init__(self, kernel: Kernel, hub: HubIssues | None = None) -> None:
        self.kernel = kernel
        self.db = kernel.db
        #: Writes go through the crosslink hub when it is in use (see :mod:`.hubsync`).
        self.hub = hub

    def _through_hub(self) -> bool:
        return self.hub is not None and self.hub.active()

    async def list(
        self, status: str = "open", limit: int | None = None, offset: int = 0
    ) -> tuple[list[dict[str, Any]], int]:
        where, params = ("", []) if status == "all" else (" WHERE m.status = ?", [status])
        sql = f"SELECT {store.MILESTONE_FIELDS} {store.MILESTONE_FROM}{where} GROUP BY m.id ORDER BY m.id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
        elif offset:
            sql += (" LIMIT -1" if self.db.is_sqlite else "") + f" OFFSET {int(offset)}"
        items = [shape.milestone(row) for row in await self.db.fetch_all(sql, params)]
        if (limit is None or len(items) < limit) and (items or not offset):
            return items, offset + len(items)
        total = await self.db.fetch_value(f"SELECT count(*) AS n FROM milestones m{where}", params)
        return items, int(total)

    async def names(self, status: str = "open", limit: int = 500) -> list[dict[str, Any]]:
        """``{id, name}`` of the milestones, newest first, without their progress (cheap: for
        a choice of milestone; the progress of ``list`` aggregates every member issue)."""
        where, params = ("", []) if status == "all" else (" WHERE status = ?", [status])
        rows = await self.db.fetch_all(
            f"SELECT id, name FROM milestones{where} ORDER BY id DESC LIMIT {int(limit)}", params
        )
        return [{"id": int(row["id"]), "name": row["name"]} for row in rows]

    async def get(self, milestone_id: int) -> dict[str, Any]:
        row = await self.db.fetch_one(
            f"SELECT {store.MILESTONE_FIELDS} {store.MILESTONE_FROM} WHERE m.id = ? GROUP BY m.id",
            [milestone_id],
        )
        if row is None:
            raise not_found(milestone_id)
        return shape.milestone(row)

    async def create(self, name: str, description: str | None = None) -> int:
        if self._through_hub():
            return await self.hub.create_milestone(name, description)
        milestone = await Milestone.create(
            name=name, description=description, status="open", created_at=self.kernel.clock.stored_now(), uuid=str(uuid.uuid4())
        )
        return milestone.id

    async def assign(self, milestone_id: int, issue_id: int) -> bool:
        """Move the issue into the milestone; True if its milestone changed."""
        if self._through_hub():
            await self.hub.ensure_current()
            if not await Milestone.exists(id=milestone_id):
                raise not_found(milestone_id)
            if await self.db.fetch_one("SELECT id FROM issues WHERE id = ?", [issue_id]) is None:
                raise APIError(404, f"Issue #{issue_id} does not exist")
            return await self.hub.assign_milestone(milestone_id, issue_id)
        async with self.db.transaction():
            if not await Milestone.exists(id=milestone_id):
                raise not_found(milestone_id)
            lock = "" if self.db.is_sqlite else " FOR UPDATE"  # one assignment per issue at a time
            if await self.db.fetch_one(f"SELECT id FROM issues WHERE id = ?{lock}", [issue_id]) is None:
                raise APIError(404, f"Issue #{issue_id} does not exist")
            current = await self.db.fetch_all(
                "SELECT milestone_id FROM milestone_issues WHERE issue_id = ?", [issue_id]
            )
            if [row["milestone_id"] for row in current] == [milestone_id]:
                return False
            await self.db.execute(
                "DELETE FROM milestone_issues WHERE issue_id = ? AND milestone_id <> ?", [issue_id, milestone_id]
            )
            await self.db.execute(
                "INSERT INTO milestone_issues (milestone_id, issue_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                [milestone_id, issue_id],
            )
            self.kernel.publish(IssueUpdated(issue_id=issue_id, field="milestone"))
        return True

    async def unassign(self, milestone_id: int, issue_id: int) -> None:
        """Take the issue out of the milestone (404 when it is not in it)."""
        if self._through_hub():
            if await self.db.fetch_one("SELECT id FROM issues WHERE id = ?", [issue_id]) is None:
                raise APIError(404, f"Issue #{issue_id} is not in milestone #{milestone_id}")
            return await self.hub.unassign_milestone(milestone_id, issue_id)
        async with self.db.transaction():
            rows = await self.db.fetch_all(
                "DELETE FROM milestone_issues WHERE milestone_id = ? AND issue_id = ? RETURNING issue_id",
                [milestone_id, issue_id],
            )
            if not rows:
                if not await Milestone.exists(id=milestone_id):
                    raise not_found(milestone_id)
                raise APIError(404, f"Issue #{issue_id} is not in milestone #{milestone_id}")
            self.kernel.publish(IssueUpdated(issue_id=issue_id, field="milestone"))

    async def set_status(self, milestone_id: int, status: str) -> bool:
        """Close or reopen; a no-op (timestamps kept) when already there. True if changed."""
        if self._through_hub():
            return await self.hub.set_milestone_status(milestone_id, status)
        closed_at = self.kernel.clock.stored_now() if status == "closed" else None
        changed = await Milestone.filter(id=milestone_id).exclude(status=status).update(
            status=status, closed_at=closed_at
        )
        if not changed:
            if not await Milestone.exists(id=milestone_id):
                raise not_found(milestone_id)
            return False
        return True
