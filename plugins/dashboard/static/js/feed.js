// The overview's activity feed: every event this tab receives, newest first. The last entries
// are kept in sessionStorage so the feed survives moving between pages; when the server keeps
// an event log (its hello names a last_event_id), the feed starts with the latest logged events.

import { relative } from "./times.js";

const KEEP = 50;
const STORE = "crosslink.feed";
let feed = null;
let entries = [];

function load() {
  try {
    entries = JSON.parse(sessionStorage.getItem(STORE) || "[]");
  } catch (problem) {
    entries = [];
  }
}

function save() {
  try {
    sessionStorage.setItem(STORE, JSON.stringify(entries.slice(0, KEEP)));
  } catch (problem) {
    // storage full or disabled: the feed still works for this page
  }
}

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
  if (event.event_id !== undefined && entries.some((e) => e.event.event_id === event.event_id)) return;
  entries.unshift({ at, event });
  entries = entries.slice(0, KEEP);
  save();
  render();
}

async function backfill(hello) {
  if (typeof hello.last_event_id !== "number" || entries.length) return;
  const after = Math.max(0, hello.last_event_id - 30);
  try {
    const response = await fetch(`/api/v1/events/log?after=${after}&limit=30`, { credentials: "same-origin" });
    if (!response.ok) return;
    const answer = await response.json();
    const logged = Array.isArray(answer) ? answer : answer.items || answer.events || [];
    for (const record of logged) {
      const event = record.event && typeof record.event === "object" ? { ...record.event, event_id: record.id } : record;
      if (event && event.type) add(event, Date.parse(record.created_at || record.at || "") || Date.now());
    }
  } catch (problem) {
    // no log on this server: the feed fills as events arrive
  }
}

export function initFeed() {
  load();
  feed = document.querySelector("[data-feed]");
  render();
  document.addEventListener("crosslink:event", (event) => add(event.detail));
  document.addEventListener("crosslink:hello", (event) => backfill(event.detail));
}
