"""The SQL this plugin runs, per dialect, with ``?`` placeholders (the kernel adapts them).

Reads that the API answers are built as single statements: the issue detail aggregates labels,
comments, blockers, subissues and the milestone with JSON functions in one round trip; list
items carry their labels and open-blocker count as correlated subqueries (no N+1).
"""

from __future__ import annotations

from dataclasses import dataclass

ISSUE_FIELDS = "i.id, i.title, i.description, i.status, i.priority, i.parent_id, i.created_at, i.updated_at, i.closed_at"

#: The blockers of ``i`` that are open (closed or archived blockers do not block). SQLite gets a
#: scalar lookup per edge, so its planner walks ``idx_deps_blocked`` and then the primary key (a
#: join lets it start from every open issue instead: seconds at 100k issues); PostgreSQL's
#: planner does best with the join (hash joins instead of a subplan per edge).
_OPEN_BLOCKER_EDGES = {
    "sqlite": (
        "FROM dependencies d WHERE d.blocked_id = i.id "
        "AND (SELECT b.status FROM issues b WHERE b.id = d.blocker_id) = 'open'"
    ),
    "postgres": (
        "FROM dependencies d JOIN issues b ON b.id = d.blocker_id "
        "WHERE d.blocked_id = i.id AND b.status = 'open'"
    ),
}


#: The plain source: every issue, read from the table.
ISSUES = "issues i"


@dataclass(frozen=True)
class Source:
    """Which issues a list reads: a FROM clause (issues aliased ``i``), conditions, order.

    Search on SQLite reads from the FTS table joined to ``issues`` so that the index drives
    the query and a page stops early; everything else reads ``issues`` directly.
    """

    table: str = ISSUES
    where: tuple[str, ...] = ()
    params: tuple = ()
    newest_first: str = "i.id DESC"
    #: The same issues in a form that is cheaper to count (``None``: count this one).
    counted: Source | None = None
    #: Finding the matches is most of the cost (PostgreSQL's trigram search): read them once,
    #: for the page and the total together (newest first only).
    once: bool = False

    def narrowed(self, condition: str, *params) -> Source:
        counted = None if self.counted is None else self.counted.narrowed(condition, *params)
        return Source(
            self.table, (*self.where, condition), (*self.params, *params), self.newest_first, counted, self.once
        )


@dataclass(frozen=True)
class Dialect:
    """The few SQL spellings that differ between SQLite and PostgreSQL."""

    name: str
    array: str  # aggregate into a JSON array
    row: str  # a JSON array of values

    def agg(self, expression: str) -> str:
        if self.name == "postgres":
            return f"coalesce({self.array}({expression}), '[]')"
        return f"{self.array}({expression})"


SQLITE = Dialect("sqlite", array="json_group_array", row="json_array")
POSTGRES = Dialect("postgres", array="json_agg", row="json_build_array")


class Statements:
    """Every statement the plugin runs that is worth writing once."""

    def __init__(self, dialect: str) -> None:
        d = SQLITE if dialect == "sqlite" else POSTGRES
        self.dialect = d
        issue_array = (
            f"{d.row}(s.id, s.title, s.description, s.status, s.priority, s.parent_id, "
            "s.created_at, s.updated_at, s.closed_at)"
        )
        comment_array = (
            f"{d.row}(c.id, c.issue_id, c.content, c.created_at, c.kind, c.trigger_type, "
            "c.intervention_context, c.driver_key_fingerprint)"
        )
        self.labels_of = f"(SELECT {d.agg('l.label')} FROM labels l WHERE l.issue_id = i.id)"
        self.detail = (
            f"SELECT {ISSUE_FIELDS}, "
            f"{self.labels_of} AS labels, "
            f"(SELECT {d.agg(comment_array)} FROM comments c WHERE c.issue_id = i.id) AS comments, "
            f"(SELECT {d.agg('dp.blocker_id')} FROM dependencies dp WHERE dp.blocked_id = i.id) AS blockers, "
            f"(SELECT {d.agg('dp.blocked_id')} FROM dependencies dp WHERE dp.blocker_id = i.id) AS blocking, "
            f"(SELECT {d.agg(issue_array)} FROM issues s WHERE s.parent_id = i.id) AS subissues, "
            f"(SELECT {d.row}(m.id, m.name, m.status) FROM milestone_issues mi "
            "JOIN milestones m ON m.id = mi.milestone_id WHERE mi.issue_id = i.id "
            "ORDER BY m.id LIMIT 1) AS milestone "
            "FROM issues i WHERE i.id = ?"
        )
        edges = _OPEN_BLOCKER_EDGES[d.name]
        self.has_open_blocker = f"EXISTS (SELECT 1 {edges})"
        self.summary_fields = f"{ISSUE_FIELDS}, {self.labels_of} AS labels, (SELECT count(*) {edges}) AS blocker_count"

    def labelled(self, source: Source, label: str) -> Source:
        """``source`` (a plain read of ``issues``) narrowed to the issues carrying ``label``, read
        from ``server_idx_labels_label_issue``: the label's entries drive the query in id order, so
        a page stops after ``limit`` matches and a count touches only the label's issues (with
        ``idx_issues_status`` covering the status test on SQLite). SQLite's ``CROSS JOIN`` fixes
        that order; PostgreSQL's planner finds it by itself (``CROSS JOIN`` takes no ``ON`` there).
        """
        join = "CROSS JOIN" if self.dialect.name == "sqlite" else "JOIN"
        return Source(
            f"labels lf {join} issues i ON i.id = lf.issue_id",
            ("lf.label = ?", *source.where),
            (label, *source.params),
            "lf.issue_id DESC",
            once=source.once,
        )

    def summaries(self, source: Source, order: str, limit: int | None, offset: int) -> str:
        """List items of ``source`` in ``order``, one page."""
        sql = f"SELECT {self.summary_fields} FROM {source.table}"
        if source.where:
            sql += " WHERE " + " AND ".join(source.where)
        sql += f" ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
        elif offset:
            sql += (" LIMIT -1" if self.dialect.name == "sqlite" else "") + f" OFFSET {int(offset)}"
        return sql

    def page_with_total(self, source: Source, limit: int | None, offset: int) -> str:
        """One page of ``source``, newest first, each row carrying ``server_total`` (the count of
        every match): the matches are found once, in a materialised CTE (PostgreSQL)."""
        where = f" WHERE {' AND '.join(source.where)}" if source.where else ""
        page = f" LIMIT {int(limit)}" if limit is not None else ""
        return (
            f"WITH server_matches AS MATERIALIZED (SELECT i.id FROM {source.table}{where}) "
            f"SELECT {self.summary_fields}, (SELECT count(*) FROM server_matches) AS server_total "
            "FROM issues i WHERE i.id IN "
            f"(SELECT id FROM server_matches ORDER BY id DESC{page} OFFSET {int(offset)}) "
            "ORDER BY i.id DESC"
        )

    @staticmethod
    def count(source: Source) -> tuple[str, tuple]:
        """The count of every issue of ``source``: the statement and its parameters."""
        source = source.counted or source
        sql = f"SELECT count(*) AS n FROM {source.table}"
        if source.where:
            sql += " WHERE " + " AND ".join(source.where)
        return sql, source.params


ISSUE_ROW = f"SELECT {ISSUE_FIELDS} FROM issues i WHERE i.id = ?"

INSERT_ISSUE = (
    "INSERT INTO issues (title, description, status, priority, parent_id, created_at, updated_at, uuid, created_by) "
    "VALUES (?, ?, 'open', ?, ?, ?, ?, ?, ?)"
)

INSERT_COMMENT = (
    "INSERT INTO comments (issue_id, content, created_at, uuid, author, kind, trigger_type, intervention_context) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)

COMMENTS_OF = (
    "SELECT c.id, c.issue_id, c.content, c.created_at, c.kind, c.trigger_type, c.intervention_context, "
    "c.driver_key_fingerprint FROM comments c WHERE c.issue_id = ? ORDER BY c.created_at, c.id"
)

#: The issue and every descendant (UNION, so a corrupt parent loop still ends).
SUBTREE_IDS = (
    "WITH RECURSIVE subtree(id) AS ("
    " SELECT id FROM issues WHERE id = ?"
    " UNION SELECT c.id FROM issues c JOIN subtree s ON c.parent_id = s.id"
    ") SELECT id FROM subtree"
)

DESCENDANTS = (
    "WITH RECURSIVE subtree(id) AS ("
    " SELECT id FROM issues WHERE parent_id = ?"
    " UNION SELECT c.id FROM issues c JOIN subtree s ON c.parent_id = s.id"
    f") SELECT {ISSUE_FIELDS} FROM issues i WHERE i.id IN (SELECT id FROM subtree)"
)

#: Would "``?`` blocked by ``?``" close a cycle? True when the blocker is already reachable
#: from the blocked issue along blocker -> blocked edges (one recursive CTE, UNION-deduplicated).
REACHES = (
    "WITH RECURSIVE reach(id) AS ("
    " SELECT blocked_id FROM dependencies WHERE blocker_id = ?"
    " UNION SELECT d.blocked_id FROM dependencies d JOIN reach r ON d.blocker_id = r.id"
    ") SELECT 1 AS hit FROM reach WHERE id = ? LIMIT 1"
)

MILESTONE_FIELDS = (
    "m.id, m.name, m.description, m.status, m.created_at, m.closed_at, "
    "count(i.id) AS issue_count, "
    "coalesce(sum(CASE WHEN i.status = 'closed' THEN 1 ELSE 0 END), 0) AS completed_count"
)
MILESTONE_FROM = (
    "FROM milestones m LEFT JOIN milestone_issues mi ON mi.milestone_id = m.id "
    "LEFT JOIN issues i ON i.id = mi.issue_id"
)
