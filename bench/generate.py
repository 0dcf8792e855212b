"""The data generator: a repository whose ``.crosslink/issues.db`` holds N issues.

``python -m bench.generate DIR --issues 100000 --seed 1`` writes, reproducibly from the seed:

* issues with Zipf-distributed words in titles and descriptions, a status mix (30 % open,
  65 % closed, 5 % archived), priorities, CLI timestamps and a UUID v4 each; about 20 % are
  subissues of a nearby earlier issue, plus one designated tree of 100 descendants (random ids);
* 0-3 labels per issue (about 1.3 on average) from 20 labels of skewed popularity;
* a dependency graph: about 15 % of issues are blocked by 1-3 earlier issues nearby (so the
  graph is acyclic), plus one chain of 5,000 random issues (each blocks the next, in id order)
  for the cycle check, kept apart from the rest of the graph;
* 0-6 comments per issue (3 on average), of the CLI's kinds; milestones (one per 500 issues,
  holding 30 % of the issues); sessions (one per 50 issues) of 10 agents.

It writes through the server's own storage layer: the crosslink app is started with its
lifespan (schema, migrations, the issues plugin's search index and triggers), rows go in with
``executemany`` inside ``kernel.db.transaction()``, and the issues plugin's search engine then
takes the queued rows into its FTS index (``search.prepare()``), as the server would before a
search. A manifest (``bench-manifest.json``) names the ids and words the benchmarks use.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import random
import sqlite3
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path

from kernel.timeutil import to_db

MANIFEST = "bench-manifest.json"
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=730)
CHAIN = 5000
TREE = 100
LABELS = ["bug", "feature", "enhancement", "docs", "test", "refactor", "perf", "security", "ui", "api",
          "db", "infra", "ci", "cleanup", "research", "regression", "agent", "human-review", "good-first-issue",
          "upstream"]
AGENTS = [f"agent-{name}" for name in ("ada", "bo", "cy", "dee", "eli", "fay", "gus", "hal", "ivy", "jo")]
KINDS = ["note", "plan", "decision", "observation", "result", "resolution", "blocker"]
KIND_WEIGHTS = [60, 10, 8, 10, 7, 3, 2]
COMMON = ["fix", "add", "test", "error", "server", "update", "handler", "config", "cache", "login", "timeout",
          "query", "index", "build", "agent", "session", "parser", "retry", "deploy", "schema"]
SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "zi", "shi", "pra", "gle", "dor", "fen", "qua", "bri",
             "sto", "lin", "mar", "tek", "vul", "ox", "el", "an", "ur", "is", "pho", "tri", "gan", "wes", "yl"]


class Words:
    """A vocabulary with Zipf-like frequencies; ``rank`` 0 is the most frequent word."""

    def __init__(self, rng: random.Random, size: int = 5000) -> None:
        words, seen = list(COMMON), set(COMMON)
        while len(words) < size:
            word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
            if word not in seen:
                seen.add(word)
                words.append(word)
        self.words = words
        self._cum = list(accumulate(1.0 / (rank + 1) for rank in range(size)))
        self.rng = rng

    def text(self, low: int, high: int) -> str:
        count = self.rng.randint(low, high)
        return " ".join(self.rng.choices(self.words, cum_weights=self._cum, k=count))


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _at(index: int, total: int, rng: random.Random) -> datetime:
    return EPOCH + SPAN * (index / max(1, total)) + timedelta(seconds=rng.randint(0, 3600))


def build(n: int, seed: int, chain_length: int | None = None) -> dict:
    """Every row to insert, and the manifest facts, from ``seed`` alone."""
    rng = random.Random(seed)
    words = Words(rng)
    chain_length = min(CHAIN, n // 2) if chain_length is None else chain_length
    # the chain and the designated tree: random ids, kept out of the random graph and trees
    tree_size = min(TREE, n // 4)
    special = rng.sample(range(1, n + 1), chain_length + tree_size + 1)
    chain = sorted(special[:chain_length])
    tree_nodes = sorted(special[chain_length:])
    in_chain, tree = set(chain), set(tree_nodes)
    tree_parent = {node: rng.choice(tree_nodes[:i]) for i, node in enumerate(tree_nodes) if i}
    tree_root = tree_nodes[0]

    issues, labels, deps, comments = [], [], [], []
    for k in range(1, n + 1):
        created = _at(k, n, rng)
        status = rng.choices(["open", "closed", "archived"], [30, 65, 5])[0]
        updated = created + timedelta(hours=rng.randint(0, 500))
        closed = to_db(updated) if status != "open" else None
        parent = None
        if k in tree:
            parent = tree_parent.get(k)
        elif k > 1 and k not in in_chain and rng.random() < 0.2:
            candidate = rng.randint(max(1, k - 500), k - 1)
            parent = candidate if candidate not in tree else None
        issues.append((k, words.text(3, 10).capitalize(), words.text(15, 80) if rng.random() < 0.9 else None,
                       status, rng.choices(["low", "medium", "high", "critical"], [20, 50, 25, 5])[0], parent,
                       to_db(created), to_db(updated), closed, _uuid(rng), rng.choice(AGENTS)))
        for label in rng.sample(LABELS[: 5 + k % 16], rng.choices([0, 1, 2, 3], [20, 40, 30, 10])[0]):
            labels.append((k, label))
        if k not in in_chain and k not in tree and k > 10 and rng.random() < 0.15:
            for blocker in set(rng.randint(max(1, k - 1000), k - 1) for _ in range(rng.randint(1, 3))):
                if blocker not in in_chain and blocker not in tree:
                    deps.append((blocker, k))
        for c in range(rng.randint(0, 6)):
            kind = rng.choices(KINDS, KIND_WEIGHTS)[0]
            comments.append((k, words.text(8, 60), to_db(created + timedelta(minutes=10 * (c + 1))), _uuid(rng),
                             rng.choice(AGENTS), kind))
    deps.extend((a, b) for a, b in zip(chain, chain[1:]))

    milestones, members = [], []
    for m in range(1, max(2, n // 500) + 1):
        milestones.append((m, f"Milestone {m}: {words.text(2, 5)}", words.text(5, 20),
                           "open" if rng.random() < 0.8 else "closed", to_db(_at(m * 500, n, rng)), None, _uuid(rng)))
    for k in rng.sample(range(1, n + 1), int(n * 0.3)):
        members.append((rng.randint(1, len(milestones)), k))

    sessions = []
    for s in range(max(5, n // 50)):
        started = _at(s * 50, n, rng)
        ended = to_db(started + timedelta(minutes=rng.randint(5, 240))) if s < max(5, n // 50) - len(AGENTS) else None
        sessions.append((to_db(started), ended, rng.randint(1, n), words.text(10, 40), words.text(3, 8),
                         AGENTS[s % len(AGENTS)]))

    # candidate words to search for; write() keeps those matching about 10 %, 1 % and 0.1 % of
    # the issues (a word is also found inside longer words: substring search)
    candidates = words.words[::10]
    return {
        "issues": issues, "labels": labels, "dependencies": deps, "comments": comments,
        "milestones": milestones, "milestone_issues": members, "sessions": sessions,
        "manifest": {
            "issues": n, "seed": seed, "chain": chain, "tree_root": tree_root, "tree_size": tree_size,
            "search": candidates, "short_search": "ta", "labels": LABELS[:5],
            "free_blockers": [k for k in rng.sample(range(1, n + 1), min(n, 40000)) if k not in in_chain],
            "comment_on": rng.sample(range(1, n + 1), min(n, 5000)),
        },
    }


INSERTS = {
    "issues": "INSERT INTO issues (id, title, description, status, priority, parent_id, created_at, updated_at, "
              "closed_at, uuid, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "labels": "INSERT INTO labels (issue_id, label) VALUES (?, ?)",
    "dependencies": "INSERT INTO dependencies (blocker_id, blocked_id) VALUES (?, ?)",
    "comments": "INSERT INTO comments (issue_id, content, created_at, uuid, author, kind) VALUES (?, ?, ?, ?, ?, ?)",
    "milestones": "INSERT INTO milestones (id, name, description, status, created_at, closed_at, uuid) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?)",
    "milestone_issues": "INSERT INTO milestone_issues (milestone_id, issue_id) VALUES (?, ?)",
    "sessions": "INSERT INTO sessions (started_at, ended_at, active_issue_id, handoff_notes, last_action, agent_id) "
                "VALUES (?, ?, ?, ?, ?, ?)",
}
BATCH = 20_000


async def write(repo: Path, data: dict) -> dict[str, float]:
    """Start the crosslink app on ``repo`` and insert ``data`` through its database."""
    from kernel.app import create_app, kernel_of
    from kernel.settings import Settings

    app = create_app(Settings.for_repo(repo, autoload=False))
    kernel = kernel_of(app)
    timings = {}
    async with app.test_app():
        if await kernel.db.fetch_value("SELECT count(*) FROM issues"):
            raise SystemExit(f"{repo} already holds issues; the generator fills a new repository only")
        began = time.perf_counter()
        for table, sql in INSERTS.items():
            rows = data[table]
            for start in range(0, len(rows), BATCH):
                async with kernel.db.transaction() as connection:
                    await connection.execute_many(sql, rows[start : start + BATCH])
        timings["insert_s"] = time.perf_counter() - began
        began = time.perf_counter()
        await kernel.services.require("issues").search.prepare()  # the queued rows into the FTS index
        timings["index_s"] = time.perf_counter() - began
        data["manifest"]["search"] = await search_words(kernel.db, data["manifest"]["search"], len(data["issues"]))
        await kernel.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return timings


#: the share of issues a search word matches (title, description or a comment), per class
SEARCH_BANDS = {"common": 0.10, "medium": 0.01, "rare": 0.001}


async def search_words(db, candidates: list[str], n: int, per_band: int = 10) -> dict[str, list[str]]:
    """The candidates whose match counts come closest to each band (counted in the FTS index)."""
    from plugins.issues.search import FTS_TABLE, fold, fts_phrase

    counts = {}
    for word in candidates:
        counts[word] = await db.fetch_value(f"SELECT count(*) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?",
                                            [fts_phrase(fold(word))])
    chosen = {}
    for band, share in SEARCH_BANDS.items():
        target = max(1.0, share * n)
        ranked = sorted((w for w in counts if counts[w]), key=lambda w: (abs(math.log(counts[w] / target)), w))
        chosen[band] = ranked[:per_band]
        chosen[f"{band}_matches"] = sorted(counts[w] for w in chosen[band])
    return chosen


def digest(db_path: Path) -> str:
    """A hash of the generated rows (ids and content), to check reproducibility."""
    h = hashlib.sha256()
    connection = sqlite3.connect(db_path)
    try:
        for table, order in (("issues", "id"), ("labels", "issue_id, label"), ("dependencies", "blocker_id, blocked_id"),
                             ("comments", "id"), ("milestones", "id"), ("milestone_issues", "milestone_id, issue_id"),
                             ("sessions", "id")):
            for row in connection.execute(f"SELECT * FROM {table} ORDER BY {order}"):
                h.update(repr(row).encode())
    finally:
        connection.close()
    return h.hexdigest()[:16]


def generate(repo: Path, n: int, seed: int = 1, chain_length: int | None = None) -> dict:
    """Create ``repo`` (a git repository) with ``n`` issues; return the manifest."""
    repo.mkdir(parents=True, exist_ok=True)
    (repo / ".crosslink").mkdir(exist_ok=True)
    if not (repo / ".git").exists():
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
    began = time.perf_counter()
    data = build(n, seed, chain_length)
    build_s = time.perf_counter() - began
    timings = asyncio.run(write(repo, data))
    db = repo / ".crosslink" / "issues.db"
    manifest = {
        **data["manifest"],
        "counts": {table: len(data[table]) for table in INSERTS},
        "open": sum(1 for row in data["issues"] if row[3] == "open"),
        "build_s": round(build_s, 2),
        **{key: round(value, 2) for key, value in timings.items()},
        "db_mib": round(db.stat().st_size / 2**20, 1),
        "digest": digest(db),
    }
    (repo / MANIFEST).write_text(json.dumps(manifest))
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("--issues", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    manifest = generate(args.repo, args.issues, args.seed)
    shown = {k: v for k, v in manifest.items() if k not in ("chain", "free_blockers", "comment_on")}
    print(json.dumps(shown, indent=2))


if __name__ == "__main__":
    main()
