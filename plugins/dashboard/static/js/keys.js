// Keyboard navigation: Ctrl-K search, "/" the page's filter, "g <letter>" pages, j/k rows,
// Enter opens the selected row, "n" a new item, "?" the list of shortcuts.

import { openSearch } from "./palette.js";

let pendingG = false;
let pendingTimer = null;

function typing(target) {
  return target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement ||
    target instanceof HTMLSelectElement || (target instanceof HTMLElement && target.isContentEditable);
}

function rows() {
  return [...document.querySelectorAll("[data-nav-list] [data-nav-item]")];
}

function moveSelection(step) {
  const all = rows();
  if (!all.length) return;
  const current = all.findIndex((row) => row.classList.contains("is-selected"));
  const next = current < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, current + step));
  all.forEach((row, i) => {
    row.classList.toggle("is-selected", i === next);
    if (i === next) row.setAttribute("aria-current", "true");
    else row.removeAttribute("aria-current");
  });
  all[next].scrollIntoView({ block: "nearest" });
  const link = all[next].querySelector("[data-nav-primary]") || all[next].querySelector("a");
  if (link) link.focus({ preventScroll: true });
}

function openSelected() {
  const row = document.querySelector("[data-nav-list] [data-nav-item].is-selected");
  const link = row && (row.querySelector("[data-nav-primary]") || row.querySelector("a"));
  if (link) location.assign(link.href);
  return Boolean(link);
}

export function initKeys() {
  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "k") {
      event.preventDefault();
      openSearch();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (document.querySelector("dialog[open]")) return;
    if (pendingG) {
      pendingG = false;
      clearTimeout(pendingTimer);
      const link = document.querySelector(`.site-nav a[data-shortcut="${CSS.escape(event.key)}"]`);
      if (link) {
        event.preventDefault();
        location.assign(link.href);
      }
      return;
    }
    switch (event.key) {
      case "g":
        pendingG = true;
        pendingTimer = setTimeout(() => (pendingG = false), 1500);
        break;
      case "/": {
        const filter = document.querySelector("[data-page-search]");
        event.preventDefault();
        if (filter) filter.focus();
        else openSearch();
        break;
      }
      case "j":
        moveSelection(1);
        break;
      case "k":
        moveSelection(-1);
        break;
      case "Enter":
        if (openSelected()) event.preventDefault();
        break;
      case "n": {
        const create = document.querySelector("[data-shortcut-new]");
        if (create) location.assign(create.href);
        break;
      }
      case "?": {
        const help = document.getElementById("help-dialog");
        if (help) help.showModal();
        break;
      }
      default:
    }
  });
}
