// Relative times ("5 min ago") kept current: <time datetime="..." data-relative>.

const UNITS = [
  [86400 * 365, "y"], [86400 * 30, "mo"], [86400, "d"], [3600, "h"], [60, "min"],
];

export function relative(moment, now = Date.now()) {
  const delta = (now - moment) / 1000;
  if (Math.abs(delta) < 45) return "just now";
  for (const [size, unit] of UNITS) {
    if (Math.abs(delta) >= size) {
      const amount = Math.floor(Math.abs(delta) / size);
      return delta > 0 ? `${amount} ${unit} ago` : `in ${amount} ${unit}`;
    }
  }
  return `${Math.floor(Math.abs(delta) / 60)} min ago`;
}

function update() {
  for (const element of document.querySelectorAll("time[data-relative]")) {
    const moment = Date.parse(element.getAttribute("datetime"));
    if (!Number.isNaN(moment)) element.textContent = relative(moment);
  }
}

export function initTimes() {
  update();
  setInterval(update, 15000);
  document.addEventListener("crosslink:refreshed", update);
}
