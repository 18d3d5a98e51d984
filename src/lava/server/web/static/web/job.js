// The job page: the pipeline tab (timing table and chart, fetched when first shown),
// the live header while the job runs, and tabs that follow the address (#results...).
// The log viewer is its own module (log.js).

const root = document.getElementById("job");
const POLL_MS = 5000;
const CHART_SRC = "/static/vendor/chart.js/chart.min.js";

function showTab(name) {
  const button = document.getElementById(`tab-${name}`);
  if (button && window.bootstrap) window.bootstrap.Tab.getOrCreateInstance(button).show();
}

// #results, #pipeline, #definition, #device open their tab; #L<n> is the log's.
function followHash() {
  const hash = window.location.hash.slice(1);
  if (/^L\d+$/.test(hash)) showTab("log");
  else if (["results", "pipeline", "definition", "device"].includes(hash)) showTab(hash);
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.onload = resolve;
    script.onerror = reject;
    document.head.append(script);
  });
}

// The progress bars of the timing table: width = duration / timeout (CSSOM, CSP-safe).
function sizeBars(container) {
  for (const bar of container.querySelectorAll(".progress")) {
    const max = Number(bar.getAttribute("aria-valuemax"));
    const now = Number(bar.getAttribute("aria-valuenow"));
    const share = max > 0 ? Math.min(100, (100 * now) / max) : 0;
    bar.querySelector(".progress-bar").style.width = `${share.toFixed(1)}%`;
  }
}

let chart = null;

// Top-level actions only (level without a dot): the chart stays readable for any job.
async function drawGraph(graph) {
  const top = graph.filter((row) => !String(row[0]).includes("."));
  const box = document.getElementById("pipeline-graph");
  if (!top.length) return;
  if (!window.Chart) await loadScript(CHART_SRC);
  box.classList.remove("d-none");
  const data = {
    labels: top.map((row) => `${row[0]} ${row[1]}`),
    datasets: [
      { label: "duration (s)", data: top.map((row) => row[2]), backgroundColor: top.map((row) => (row[4] ? "#ffc107" : "#0d6efd")) },
      { label: "timeout (s)", data: top.map((row) => row[3]), backgroundColor: "#dee2e6" },
    ],
  };
  if (chart) chart.destroy();
  chart = new window.Chart(document.getElementById("pipeline-chart"), {
    type: "bar",
    data,
    options: { indexAxis: "y", animation: false, maintainAspectRatio: false, responsive: true },
  });
  chart.canvas.parentNode.style.height = `${Math.max(120, 28 * top.length + 60)}px`;
}

let timingLoaded = false;

async function loadTiming() {
  const container = document.getElementById("pipeline-timing");
  try {
    const response = await fetch(root.dataset.timingUrl, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
    const body = await response.json();
    container.innerHTML = body.timing; // server-rendered, escaped HTML
    sizeBars(container);
    timingLoaded = true;
    await drawGraph(body.graph);
  } catch (error) {
    container.textContent = `The pipeline could not be loaded: ${error.message}`;
  }
}

function setText(id, text) {
  const el = document.getElementById(id);
  if (el && text !== undefined) el.textContent = text;
}

// The parts of the page that change with the job's state; the log viewer is left alone.
const LIVE_PARTS = ["job-status-slot", "job-actions", "job-alerts", "job-details"];
// Tabs keep their element (and which one is open); only what is inside them changes.
const LIVE_INSIDES = ["tab-log", "tab-results", "pane-results", "pane-device"];
let shownState = null;

// A fresh copy of the page, its changing parts swapped in (server-rendered, escaped HTML).
async function refreshParts() {
  const response = await fetch(window.location.pathname, { headers: { Accept: "text/html" } });
  if (!response.ok) return;
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  for (const id of LIVE_PARTS) {
    const now = document.getElementById(id);
    const next = fresh.getElementById(id);
    if (now && next) now.replaceWith(document.importNode(next, true));
  }
  for (const id of LIVE_INSIDES) {
    const now = document.getElementById(id);
    const next = fresh.getElementById(id);
    if (now && next) now.replaceChildren(...[...next.childNodes].map((n) => document.importNode(n, true)));
  }
  for (const link of document.querySelectorAll("#pane-results a.log-link")) {
    link.addEventListener("click", () => showTab("log"));
  }
}

// While the job is not finished: its state, health, device and duration every few seconds;
// when its state changes (or the log says it finished), the header, actions and results too.
async function pollStatus() {
  if (root.dataset.finished === "1") return;
  try {
    const response = await fetch(root.dataset.statusUrl, { headers: { Accept: "application/json" } });
    if (!response.ok) return; // the job was removed or hidden: stop quietly
    const body = await response.json();
    const badge = document.getElementById("job-status");
    if (badge) {
      badge.textContent = body.status_label;
      badge.className = `badge text-bg-${body.status_class}`;
    }
    setText("job-state", body.state);
    setText("job-duration", body.duration || "—");
    const device = document.getElementById("job-device");
    if (device && body.actual_device) device.innerHTML = body.actual_device; // escaped HTML
    if (body["X-JobState"] || (shownState !== null && shownState !== body.state)) {
      await refreshParts();
    }
    shownState = body.state;
    if (body["X-JobState"]) {
      root.dataset.finished = "1";
      if (timingLoaded) loadTiming();
      return;
    }
  } catch {
    // a network blip: try again on the next tick
  }
  window.setTimeout(pollStatus, POLL_MS);
}

if (root) {
  const pipeline = document.getElementById("tab-pipeline");
  pipeline?.addEventListener("shown.bs.tab", () => {
    if (!timingLoaded) loadTiming();
  });
  for (const link of document.querySelectorAll("a.log-link")) {
    link.addEventListener("click", () => showTab("log"));
  }
  window.addEventListener("hashchange", followHash);
  followHash();
  if (root.dataset.finished !== "1") {
    window.setTimeout(pollStatus, POLL_MS);
    // the log's stream knows first: ask for the status at once rather than at the next tick
    document.addEventListener("lava:job-finished", () => pollStatus(), { once: true });
  }
}
