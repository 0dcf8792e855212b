// API forms: <form class="api-form" data-api-method data-api-url data-then> is sent as JSON to
// the API route it names, so every action goes through the API's own validation. On an error
// the server's `detail` is shown in the form and each entry of `fields` next to its input.
//
// Inputs: data-type="int|number|bool|list" (whole number, number, checkbox, comma-separated list), data-empty=
// "omit|null" (what an empty value sends), data-changed-only (sent only when changed). A
// "{name}" in the URL is filled from the field of that name, which then stays out of the body.
// data-then: "refresh" (default: re-read the live regions), "reload", or "go:/path/{key}"
// (filled from the JSON answer). data-confirm asks first; data-reset clears after success;
// data-success-from="message" shows that key of the answer as the confirmation.

import { confirmAction } from "./dialogs.js";
import { holdForLeaving, refreshAll } from "./live.js";

const OMIT = Symbol("omit");

class FieldProblem extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

function changed(element) {
  if (element.type === "checkbox") return element.checked !== element.defaultChecked;
  if (element instanceof HTMLSelectElement) return [...element.options].some((o) => o.selected !== o.defaultSelected);
  return element.value !== element.defaultValue;
}

function valueOf(element) {
  const kind = element.dataset.type;
  if (kind === "bool") return element.checked;
  const raw = element.value;
  if (kind === "list") return raw.split(",").map((part) => part.trim()).filter(Boolean);
  if (raw.trim() === "") {
    if (element.dataset.empty === "omit") return OMIT;
    if (element.dataset.empty === "null") return null;
  }
  if (kind === "number") {
    const text = raw.trim();
    return /^-?(\d+\.?\d*|\.\d+)$/.test(text) ? Number(text) : raw; // the API names a bad value
  }
  if (kind === "int") {
    const text = raw.trim().replace(/^#/, "");
    return /^-?\d+$/.test(text) ? Number(text) : raw; // anything else: the API says what is wrong
  }
  return raw;
}

function buildRequest(form) {
  const used = new Set();
  const url = form.dataset.apiUrl.replace(/\{(\w+)\}/g, (_, name) => {
    const field = form.elements.namedItem(name);
    const value = field ? field.value.trim().replace(/^#/, "") : "";
    if (!value) throw new FieldProblem(name, "required");
    used.add(name);
    return encodeURIComponent(value);
  });
  const body = {};
  let fields = 0;
  for (const element of form.elements) {
    if (!element.name || used.has(element.name) || element.disabled) continue;
    if (element instanceof HTMLButtonElement) continue;
    if (element.hasAttribute("data-changed-only") && !changed(element)) continue;
    const value = valueOf(element);
    if (value === OMIT) continue;
    body[element.name] = value;
    fields += 1;
  }
  return { url, method: form.dataset.apiMethod || "POST", body: fields ? body : null };
}

function statusOf(form) {
  return form.querySelector(".form-status");
}

function showStatus(form, text, kind) {
  const status = statusOf(form);
  if (!status) return;
  status.textContent = text;
  status.dataset.kind = kind;
  status.hidden = false;
}

function clearProblems(form) {
  for (const message of form.querySelectorAll("[data-error-for]")) {
    message.hidden = true;
    message.textContent = "";
  }
  for (const element of form.querySelectorAll("[aria-invalid]")) element.removeAttribute("aria-invalid");
  const status = statusOf(form);
  if (status) status.hidden = true;
}

function showFieldProblem(form, name, message) {
  const slot = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
  const element = form.elements.namedItem(name);
  if (element && element.setAttribute) {
    element.setAttribute("aria-invalid", "true");
    if (slot) {
      slot.id = slot.id || `error-${Math.random().toString(36).slice(2)}`;
      element.setAttribute("aria-describedby", slot.id);
    }
  }
  if (!slot) return false;
  slot.textContent = message;
  slot.hidden = false;
  return true;
}

function fill(template, answer) {
  return template.replace(/\{(\w+)\}/g, (_, key) => encodeURIComponent(answer && answer[key] !== undefined ? answer[key] : ""));
}

function acceptValues(form) {
  for (const element of form.elements) {
    if (element.type === "checkbox") element.defaultChecked = element.checked;
    else if (element instanceof HTMLSelectElement) [...element.options].forEach((o) => (o.defaultSelected = o.selected));
    else if ("defaultValue" in element) element.defaultValue = element.value;
  }
}

async function submit(form) {
  if (form.dataset.busy) return;
  if (form.dataset.confirm && !(await confirmAction(form.dataset.confirm))) return;
  clearProblems(form);
  let request;
  try {
    request = buildRequest(form);
  } catch (problem) {
    if (!(problem instanceof FieldProblem)) throw problem;
    showFieldProblem(form, problem.field, problem.message);
    showStatus(form, `${problem.field}: ${problem.message}`, "error");
    return;
  }
  form.dataset.busy = "1";
  form.setAttribute("aria-busy", "true");
  const then = form.dataset.then || "refresh";
  const stay = then.startsWith("go:") || then === "reload" ? holdForLeaving() : () => {};
  try {
    const init = { method: request.method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (request.body !== null) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(request.body);
    }
    const response = await fetch(request.url, init);
    const text = await response.text();
    let answer = null;
    try {
      answer = text ? JSON.parse(text) : null;
    } catch (problem) {
      answer = null;
    }
    if (!response.ok) {
      for (const field of (answer && answer.fields) || []) {
        showFieldProblem(form, String(field.field).split(".")[0], field.message);
      }
      showStatus(form, (answer && answer.detail) || `The server answered ${response.status}.`, "error");
      stay();
      return;
    }
    if (then.startsWith("go:")) {
      location.assign(fill(then.slice(3), answer));
      return;
    }
    if (then === "reload") {
      location.reload();
      return;
    }
    if (form.hasAttribute("data-reset")) form.reset();
    acceptValues(form);
    const said = form.dataset.successFrom && answer ? answer[form.dataset.successFrom] : null;
    showStatus(form, said || form.dataset.success || "Done.", "ok");
    refreshAll();
  } catch (problem) {
    stay();
    showStatus(form, `The server could not be reached (${problem.message}).`, "error");
  } finally {
    delete form.dataset.busy;
    form.removeAttribute("aria-busy");
  }
}

export function initForms() {
  document.addEventListener("submit", (event) => {
    const form = event.target.closest("form.api-form");
    if (!form) return;
    event.preventDefault();
    submit(form);
  });
}
