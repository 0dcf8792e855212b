// File inputs that load a text file into a field of their form: <input type="file"
// data-load-into="<textarea id>" data-slug-into="<input id>"> (the file never leaves the
// browser on its own; the form sends the text as JSON like any other field).

const MAX_BYTES = 2 * 1024 * 1024;

function slugOf(name) {
  return name.replace(/\.[^.]*$/, "").toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 100);
}

export function initUploads() {
  document.addEventListener("change", async (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || input.type !== "file" || !input.dataset.loadInto) return;
    const file = input.files && input.files[0];
    const target = document.getElementById(input.dataset.loadInto);
    if (!file || !target) return;
    if (file.size > MAX_BYTES) {
      input.setCustomValidity("too large");
      target.value = "";
      target.placeholder = `${file.name} is larger than 2 MiB.`;
      return;
    }
    target.value = await file.text();
    const slug = input.dataset.slugInto && document.getElementById(input.dataset.slugInto);
    if (slug && !slug.value) slug.value = slugOf(file.name);
  });
}
