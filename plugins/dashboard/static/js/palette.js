// The search box (Ctrl-K): the unified GET /api/v1/search over issues, comments and knowledge,
// results linked to the dashboard page of each hit (each page declares its links).

const DEBOUNCE_MS = 150;
const links = JSON.parse(document.body.dataset.searchLinks || "{}");
let dialog, input, results, hint;
let timer = null;
let asked = 0;

function linkFor(hit) {
  const pattern = links[hit.kind];
  if (!pattern) return null;
  return pattern.replace(/\{(\w+)\}/g, (_, key) => encodeURIComponent(hit[key] ?? ""));
}

function options() {
  return [...results.querySelectorAll("[role=option]")];
}

function select(index) {
  const all = options();
  all.forEach((option, i) => option.setAttribute("aria-selected", String(i === index)));
  if (all[index]) all[index].scrollIntoView({ block: "nearest" });
}

function selectedIndex() {
  return options().findIndex((option) => option.getAttribute("aria-selected") === "true");
}

function render(items) {
  const rows = [];
  for (const hit of items) {
    const href = linkFor(hit);
    if (!href) continue;
    const row = document.createElement("li");
    row.setAttribute("role", "option");
    const link = document.createElement("a");
    link.href = href;
    const kind = document.createElement("span");
    kind.className = `badge kind-${hit.kind}`;
    kind.textContent = hit.kind;
    const title = document.createElement("strong");
    title.textContent = hit.issue_id !== null && hit.issue_id !== undefined && hit.kind !== "issue"
      ? `#${hit.issue_id} ${hit.title}` : hit.kind === "issue" ? `#${hit.id} ${hit.title}` : hit.title;
    link.append(kind, " ", title);
    if (hit.snippet) {
      const snippet = document.createElement("span");
      snippet.className = "snippet";
      snippet.textContent = hit.snippet;
      link.append(snippet);
    }
    row.append(link);
    rows.push(row);
  }
  results.replaceChildren(...rows);
  hint.textContent = rows.length ? `${rows.length} result${rows.length === 1 ? "" : "s"}` : "Nothing matches.";
  if (rows.length) select(0);
}

async function search(text) {
  const ticket = ++asked;
  if (!text.trim()) {
    results.replaceChildren();
    hint.textContent = "Type to search.";
    return;
  }
  try {
    const response = await fetch(`/api/v1/search?q=${encodeURIComponent(text)}&limit=20`, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    const answer = await response.json();
    if (ticket !== asked) return; // a newer query is on its way
    if (!response.ok) {
      hint.textContent = answer.detail || `The server answered ${response.status}.`;
      results.replaceChildren();
      return;
    }
    render(answer.items || []);
  } catch (problem) {
    if (ticket === asked) hint.textContent = "The server could not be reached.";
  }
}

export function openSearch() {
  if (!dialog) return;
  if (!dialog.open) dialog.showModal();
  input.select();
}

export function initPalette() {
  dialog = document.getElementById("search-dialog");
  if (!dialog) return;
  input = document.getElementById("search-input");
  results = document.getElementById("search-results");
  hint = document.getElementById("search-hint");
  document.getElementById("search-open").addEventListener("click", openSearch);
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => search(input.value), DEBOUNCE_MS);
  });
  input.addEventListener("keydown", (event) => {
    const all = options();
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!all.length) return;
      const step = event.key === "ArrowDown" ? 1 : -1;
      select((selectedIndex() + step + all.length) % all.length);
    } else if (event.key === "Enter") {
      event.preventDefault();
      const chosen = all[Math.max(0, selectedIndex())];
      if (chosen) location.assign(chosen.querySelector("a").href);
    }
  });
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close(); // a click on the backdrop
  });
}
