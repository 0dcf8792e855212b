// Renders /openapi.json as a browsable list of routes. No network access beyond this server.
"use strict";

const METHODS = ["get", "post", "put", "patch", "delete"];
// Error responses share one schema; they are listed by status instead of repeated in full.
const ERROR_REF = "#/components/schemas/ApiError";

// Inline $ref'd component schemas (a few levels deep) so each route shows its whole shape.
function resolve(schema, spec, depth = 0) {
  if (Array.isArray(schema)) return schema.map((item) => resolve(item, spec, depth));
  if (!schema || typeof schema !== "object" || depth > 6) return schema;
  if (schema.$ref) {
    const name = schema.$ref.split("/").pop();
    const target = spec.components && spec.components.schemas && spec.components.schemas[name];
    return target ? resolve(target, spec, depth + 1) : schema;
  }
  const copy = {};
  Object.entries(schema).forEach(([key, value]) => { copy[key] = resolve(value, spec, depth); });
  return copy;
}

function element(tag, attrs, text) {
  const node = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([key, value]) => node.setAttribute(key, value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function schemaBlock(label, schema, spec) {
  const wrapper = element("div");
  wrapper.appendChild(element("strong", {}, label));
  wrapper.appendChild(element("pre", {}, JSON.stringify(resolve(schema, spec), null, 2)));
  return wrapper;
}

function renderRoute(path, method, operation, spec) {
  const route = element("details", { class: "route", "data-search": `${method} ${path} ${(operation.tags || []).join(" ")}`.toLowerCase() });
  const summary = element("summary");
  summary.appendChild(element("span", { class: `method ${method}` }, method.toUpperCase()));
  summary.appendChild(element("span", { class: "path" }, path));
  summary.appendChild(element("span", { class: "doc" }, operation.summary || ""));
  route.appendChild(summary);
  const body = element("div", { class: "body" });
  if (operation.description) body.appendChild(element("p", {}, operation.description));
  (operation.parameters || []).forEach((parameter) => {
    body.appendChild(element("div", {}, `${parameter.in} parameter ${parameter.name}${parameter.required ? " (required)" : ""}`));
  });
  const request = operation.requestBody && operation.requestBody.content && operation.requestBody.content["application/json"];
  if (request) body.appendChild(schemaBlock("Request body", request.schema, spec));
  const errors = [];
  Object.entries(operation.responses || {}).forEach(([status, response]) => {
    const content = response.content && response.content["application/json"];
    if (content && content.schema && content.schema.$ref === ERROR_REF) {
      errors.push(`${status} ${response.description || ""}`.trim());
    } else if (content) {
      body.appendChild(schemaBlock(`Response ${status}`, content.schema, spec));
    }
  });
  if (errors.length) {
    const list = element("div", { class: "errors" });
    list.appendChild(element("strong", {}, "Errors ({error, detail}):"));
    const items = element("ul");
    errors.forEach((line) => items.appendChild(element("li", {}, line)));
    list.appendChild(items);
    body.appendChild(list);
  }
  route.appendChild(body);
  return route;
}

function render(spec) {
  document.getElementById("title").textContent = `${spec.info.title} ${spec.info.version}`;
  const byTag = new Map();
  let count = 0;
  Object.keys(spec.paths).sort().forEach((path) => {
    METHODS.forEach((method) => {
      const operation = spec.paths[path][method];
      if (!operation) return;
      const tag = (operation.tags && operation.tags[0]) || "other";
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push(renderRoute(path, method, operation, spec));
      count += 1;
    });
  });
  const main = document.getElementById("routes");
  [...byTag.keys()].sort().forEach((tag) => {
    const section = element("section", { "data-tag": tag });
    section.appendChild(element("h2", {}, tag));
    byTag.get(tag).forEach((route) => section.appendChild(route));
    main.appendChild(section);
  });
  document.getElementById("summary").textContent = `${count} routes. WebSocket: /ws. Machine-readable: /openapi.json`;
}

function applyFilter() {
  const needle = document.getElementById("filter").value.trim().toLowerCase();
  document.querySelectorAll("details.route").forEach((route) => {
    route.hidden = needle !== "" && !route.dataset.search.includes(needle);
  });
}

document.getElementById("filter").addEventListener("input", applyFilter);
fetch("/openapi.json")
  .then((response) => {
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return response.json();
  })
  .then(render)
  .catch((error) => {
    document.getElementById("summary").textContent = `Could not load /openapi.json: ${error.message}`;
  });
