// Live updates: one WebSocket to /ws, resumed from the last event id seen (from the first
// connection on: the page is rendered with the id of the newest event it already shows, so an
// event committed while it rendered or while the socket was away is replayed), and the page's live regions (elements with data-live="<channels>") re-read from the server
// and morphed in place (idiomorph) when an event of one of their channels arrives.

import { Idiomorph } from "../vendor/idiomorph-0.8.0.esm.js";

const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 10000;
const REFRESH_DELAY_MS = 100;

const eventChannels = JSON.parse(document.body.dataset.eventChannels || "{}");
const staleRegions = new Set();
let socket = null;
const cursor = Number.parseInt(document.body.dataset.eventCursor ?? "", 10);
let lastEventId = Number.isInteger(cursor) && cursor >= 0 ? cursor : null;
let retryMs = RETRY_FIRST_MS;
let connectedBefore = false;
let refreshTimer = null;
let refreshing = false;
let held = false;
let leaving = 0; // actions under way that leave this page when they succeed

function setStatus(state, text) {
  const indicator = document.getElementById("live-status");
  document.body.dataset.connection = state;
  if (indicator) {
    indicator.dataset.state = state;
    indicator.textContent = text;
  }
}

/** The channel of a WebSocket event (messages carry their type; the page knows the channels). */
export function channelOf(message) {
  return message.channel || eventChannels[message.type] || null;
}

/** Re-read every live region of this channel (soon, coalescing bursts of events). */
export function markStale(channel) {
  for (const region of document.querySelectorAll("[data-live]")) {
    if (region.id && region.dataset.live.split(/\s+/).includes(channel)) staleRegions.add(region.id);
  }
  scheduleRefresh(REFRESH_DELAY_MS);
}

/** Re-read every live region now (after an action, a gap or a reconnect without replay). */
export function refreshAll() {
  for (const region of document.querySelectorAll("[data-live]")) {
    if (region.id) staleRegions.add(region.id);
  }
  scheduleRefresh(0);
}

/**
 * An action that navigates away when it succeeds has started: re-read nothing meanwhile (the
 * page it acts on may be gone, a delete's own event would re-read it for nothing). Returns the
 * function that undoes this when the action fails and the page stays.
 */
export function holdForLeaving() {
  leaving += 1;
  let done = false;
  return () => {
    if (done) return;
    done = true;
    leaving -= 1;
    if (staleRegions.size) scheduleRefresh(0);
  };
}

function scheduleRefresh(delay) {
  if (refreshTimer === null) refreshTimer = setTimeout(refresh, delay);
}

function isEdited(node) {
  if (node instanceof HTMLInputElement) {
    if (node.type === "checkbox" || node.type === "radio") return node.checked !== node.defaultChecked;
    return node.value !== node.defaultValue;
  }
  if (node instanceof HTMLTextAreaElement) return node.value !== node.defaultValue;
  if (node instanceof HTMLSelectElement) return [...node.options].some((o) => o.selected !== o.defaultSelected);
  return false;
}

function morph(current, fresh) {
  Idiomorph.morph(current, fresh, {
    morphStyle: "outerHTML",
    callbacks: { beforeNodeMorphed: (oldNode) => !isEdited(oldNode) },
  });
}

async function refresh() {
  refreshTimer = null;
  if (refreshing || leaving || staleRegions.size === 0) return;
  const ids = [...staleRegions];
  staleRegions.clear();
  refreshing = true;
  try {
    const response = await fetch(location.href, {
      headers: { Accept: "text/html" },
      credentials: "same-origin",
      cache: "no-store",
    });
    if (response.status === 401) {
      location.reload();
      return;
    }
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    if (!response.ok) {
      const gone = page.querySelector(".error-page p");
      showNotice(gone ? gone.textContent : `This page answered ${response.status}.`);
      return;
    }
    for (const id of ids) {
      const current = document.getElementById(id);
      const fresh = page.getElementById(id);
      if (current && fresh) morph(current, fresh);
    }
    document.dispatchEvent(new CustomEvent("crosslink:refreshed", { detail: { ids } }));
  } catch (problem) {
    ids.forEach((id) => staleRegions.add(id)); // offline: try again after the reconnect
  } finally {
    refreshing = false;
    if (staleRegions.size && socket && socket.readyState === WebSocket.OPEN) scheduleRefresh(REFRESH_DELAY_MS);
  }
}

function showNotice(text) {
  let notice = document.getElementById("live-notice");
  if (!notice) {
    notice = document.createElement("p");
    notice.id = "live-notice";
    notice.className = "live-notice";
    notice.setAttribute("role", "alert");
    document.getElementById("main").prepend(notice);
  }
  notice.textContent = text;
}

function handle(message) {
  if (message.event_id !== undefined && message.event_id !== null) lastEventId = message.event_id;
  switch (message.type) {
    case "hello": {
      // with a cursor the server replays what was missed (or sends a gap); without one, re-read
      const resumed = lastEventId !== null && message.last_event_id !== undefined;
      if (connectedBefore && !resumed) refreshAll();
      connectedBefore = true;
      retryMs = RETRY_FIRST_MS;
      setStatus("live", "live");
      document.dispatchEvent(new CustomEvent("crosslink:hello", { detail: message }));
      if (staleRegions.size) scheduleRefresh(0);
      return;
    }
    case "gap":
      // the events after our cursor are gone (retention, another database) or we fell behind:
      // re-read everything shown and carry on from the server's newest id
      if (typeof message.last_event_id === "number") lastEventId = message.last_event_id;
      refreshAll();
      document.dispatchEvent(new CustomEvent("crosslink:gap", { detail: message }));
      return;
    case "resumed":
      if (typeof message.last_event_id === "number" && (lastEventId === null || message.last_event_id > lastEventId)) {
        lastEventId = message.last_event_id;
      }
      document.dispatchEvent(new CustomEvent("crosslink:resumed", { detail: message }));
      return;
    case "subscribed":
    case "pong":
    case "error":
      return;
    default: {
      const channel = channelOf(message);
      if (channel) markStale(channel);
      document.dispatchEvent(new CustomEvent("crosslink:event", { detail: { ...message, channel } }));
    }
  }
}

/** Open the WebSocket (and keep reopening it, with backoff, while the page is open). */
export function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const since = lastEventId !== null ? `?since=${encodeURIComponent(lastEventId)}` : "";
  setStatus(connectedBefore ? "reconnecting" : "connecting", connectedBefore ? "reconnecting" : "connecting");
  socket = new WebSocket(`${scheme}//${location.host}/ws${since}`);
  socket.addEventListener("message", (event) => {
    try {
      handle(JSON.parse(event.data));
    } catch (problem) {
      console.warn("crosslink: an unreadable WebSocket message was ignored", problem);
    }
  });
  socket.addEventListener("close", () => {
    setStatus("offline", "offline");
    if (held) return;
    setTimeout(() => held || connect(), retryMs);
    retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
  });
}

/** The id of the newest event this page has seen (null before the first one). */
export function lastSeenEventId() {
  return lastEventId;
}

/** Close the socket and stay away (as a network outage would) until :func:`reconnect`. */
export function disconnect() {
  held = true;
  if (socket) socket.close();
}

/** Connect again after :func:`disconnect`; the server replays what was missed. */
export function reconnect() {
  held = false;
  if (!socket || socket.readyState === WebSocket.CLOSED) connect();
}
