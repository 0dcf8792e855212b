// The overview's activity feed: the latest events of the server's event log
// (GET /api/v1/events/log, read when the page connects and again after a gap), then every
// event the page's WebSocket delivers (a reconnect replays the ones made while it was away),
// newest first, each once (by event_id).

import { lastSeenEventId } from "./live.js";
import { relative } from "./times.js";

const KEEP = 50;
let feed = null;
let entries = [];
let backfilled = false;

function link(href, text) {
  const anchor = document.createElement("a");
  anchor.href = href;
  anchor.textContent = text;
  return anchor;
}

function describe(event) {
  const parts = [];
  const issue = event.issue_id !== undefined && event.issue_id !== null ? link(`/issues/${event.issue_id}`, `#${event.issue_id}`) : null;
  const agent = event.agent_id ? link(`/agents/${encodeURIComponent(event.agent_id)}`, event.agent_id) : null;
  switch (event.type) {
    case "issue_updated":
      parts.push(issue, ` ${event.field}`);
      break;
    case "lock_changed":
      parts.push(issue, ` lock ${event.action} by `, agent);
      break;
    case "heartbeat":
      parts.push(agent, " sent a heartbeat");
      break;
    case "agent_status":
      parts.push(agent, ` is ${event.status}`);
      break;
    case "session_changed":
      parts.push(agent || "(no agent)", ` session ${event.action}`);
      if (issue) parts.push(" on ", issue);
      break;
    case "knowledge_changed":
      parts.push("page ", link(`/knowledge/${encodeURIComponent(event.slug)}`, event.slug), ` ${event.action}`);
      break;
    case "sync_started":
    case "sync_progress":
    case "sync_completed":
    case "sync_failed":
      parts.push(link("/sync", `${event.operation}`), ` ${event.type.slice(5)}`);
      if (event.step) parts.push(`: ${event.step}`);
      if (event.message) parts.push(`: ${event.message}`);
      if (event.error) parts.push(`: ${event.error}`);
      break;
    case "execution_progress":
      parts.push("stage ", link(`/orchestrator#stage-${event.stage_id}`, event.stage_id), ` ${event.status}`);
      if (agent) parts.push(" by ", agent);
      break;
    case "execution_state":
      parts.push(link("/orchestrator", "execution"), ` ${event.state}`);
      break;
    case "phase_gate":
      parts.push("gate of ", link("/orchestrator", event.phase_id), ` ${event.status}`);
      break;
    case "usage_recorded":
      parts.push(link("/usage", `${event.count} usage record${event.count === 1 ? "" : "s"}`), ` of ${(event.agent_ids || []).join(", ")}`);
      break;
    case "usage_budget_alert":
      parts.push(link("/usage", "budget"), ` ${event.level} (${event.period}${event.agent_id ? `, ${event.agent_id}` : ""})`);
      break;
    default: {
      parts.push(event.type);
      if (issue) parts.push(" ", issue);
      if (agent) parts.push(" ", agent);
    }
  }
  return parts.filter((part) => part !== null);
}

function item(entry) {
  const row = document.createElement("li");
  row.className = `feed-item channel-${entry.event.channel || "other"}`;
  const when = document.createElement("time");
  when.dateTime = new Date(entry.at).toISOString();
  when.dataset.relative = "";
  when.textContent = relative(entry.at);
  const type = document.createElement("span");
  type.className = "badge";
  type.textContent = entry.event.type;
  row.append(when, " ", type, " ", ...describe(entry.event));
  return row;
}

function render() {
  if (!feed) return;
  feed.replaceChildren(...entries.slice(0, KEEP).map(item));
  const empty = document.getElementById("activity-empty");
  if (empty) empty.hidden = entries.length > 0;
}

function add(event, at = Date.now()) {
  if (!event || !event.type) return;
  const id = event.event_id;
  if (id !== undefined && id !== null && entries.some((e) => e.event.event_id === id)) return;
  entries.push({ at, event });
  // newest first: by event id when both have one (a replay may arrive after a live event)
  entries.sort((a, b) => (b.event.event_id ?? Infinity) - (a.event.event_id ?? Infinity) || b.at - a.at);
  entries = entries.slice(0, KEEP);
  render();
}

async function backfill(head, channels) {
  if (typeof head !== "number" || head <= 0) return;
  const after = Math.max(0, head - KEEP);
  try {
    const response = await fetch(`/api/v1/events/log?after=${after}&limit=${KEEP}`, { credentials: "same-origin" });
    if (!response.ok) return;
    const answer = await response.json();
    for (const record of answer.items || []) {
      add({ ...record.event, event_id: record.event_id, channel: record.channel }, Date.parse(record.created_at) || Date.now());
    }
  } catch (problem) {
    // the server could not be reached: the feed fills as events arrive
  }
}

export function initFeed() {
  feed = document.querySelector("[data-feed]");
  if (!feed) return;
  render();
  document.addEventListener("crosslink:event", (event) => add(event.detail));
  document.addEventListener("crosslink:hello", (event) => {
    if (backfilled) return;
    backfilled = true;
    backfill(event.detail.last_event_id);
  });
  document.addEventListener("crosslink:gap", (event) => {
    entries = [];
    render();
    backfill(event.detail.last_event_id ?? lastSeenEventId());
  });
}
