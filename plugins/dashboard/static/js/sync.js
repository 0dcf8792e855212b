// The sync page's progress list: every sync_* event, as it arrives, oldest first (the status
// cards above are re-read by the live regions).

const MAX_STEPS = 100;

function line(event) {
  const row = document.createElement("li");
  row.className = `sync-step sync-${event.type.slice(5)}`;
  const when = document.createElement("time");
  when.textContent = new Date().toLocaleTimeString();
  const badge = document.createElement("span");
  badge.className = "badge";
  badge.textContent = `${event.operation} ${event.type.slice(5)}`;
  const text = [event.step, event.detail, event.message, event.error && `${event.status} ${event.error}`]
    .filter((part) => part !== undefined && part !== null && part !== "")
    .map((part) => (typeof part === "string" ? part : JSON.stringify(part)))
    .join(": ");
  const trigger = event.trigger ? ` (${event.trigger}${event.remote ? `, ${event.remote}` : ""})` : "";
  row.append(when, " ", badge, " ", text + trigger);
  return row;
}

export function initSync() {
  const list = document.querySelector("[data-sync-log]");
  if (!list) return;
  document.addEventListener("crosslink:event", (event) => {
    const message = event.detail;
    if (message.channel !== "sync" || !message.type.startsWith("sync_")) return;
    list.append(line(message));
    while (list.children.length > MAX_STEPS) list.firstElementChild.remove();
    const empty = document.getElementById("sync-progress-empty");
    if (empty) empty.hidden = true;
  });
}
