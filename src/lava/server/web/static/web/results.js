// The chart of a test case across jobs: result (pass 1, fail 0, coloured points) and
// measurement, one point per job, oldest on the left. Clicking a point opens that run.
// Data comes from the page's <script id="chart-data" type="application/json">.
const COLOURS = { pass: "#198754", fail: "#dc3545", skip: "#6c757d", unknown: "#ffc107" };
const BADGES = { pass: "bg-success", fail: "bg-danger", skip: "bg-secondary", unknown: "bg-warning text-dark" };
const LEVEL = { pass: 1, fail: 0, skip: 0.5, unknown: 0.5 };

function chartData() {
  const element = document.getElementById("chart-data");
  return element ? JSON.parse(element.textContent) : null;
}

function datasets(points, units) {
  const sets = [{
    label: "result",
    data: points.map((p) => LEVEL[p.result] ?? 0.5),
    yAxisID: "result",
    showLine: false,
    pointRadius: 5,
    pointHoverRadius: 7,
    pointBackgroundColor: points.map((p) => COLOURS[p.result] ?? COLOURS.unknown),
    pointBorderColor: points.map((p) => COLOURS[p.result] ?? COLOURS.unknown),
    backgroundColor: COLOURS.pass,
    borderColor: COLOURS.pass,
  }];
  if (points.some((p) => p.measurement !== null)) {
    sets.push({
      label: units ? `measurement (${units})` : "measurement",
      data: points.map((p) => p.measurement),
      yAxisID: "measurement",
      borderColor: "#0d6efd",
      backgroundColor: "#0d6efd",
      spanGaps: true,
      pointRadius: 3,
      tension: 0,
    });
  }
  return sets;
}

function tooltip(points) {
  return (item) => {
    const p = points[item.dataIndex];
    if (item.dataset.yAxisID === "measurement") return `${p.measurement} ${p.units}`.trim();
    return `${p.result}${p.time ? ` · ${new Date(p.time).toLocaleString()}` : ""}`;
  };
}

function draw(canvas, data) {
  const points = data.points;
  const units = points.find((p) => p.units)?.units ?? "";
  const hasMeasurement = points.some((p) => p.measurement !== null);
  return new window.Chart(canvas, {
    type: "line",
    data: { labels: points.map((p) => String(p.job)), datasets: datasets(points, units) },
    options: {
      animation: false,
      aspectRatio: 3,
      interaction: { mode: "nearest", intersect: true },
      scales: {
        x: { title: { display: true, text: "job" } },
        result: {
          position: "left", min: -0.1, max: 1.1,
          ticks: { stepSize: 0.5, callback: (v) => ({ 0: "fail", 0.5: "skip/unknown", 1: "pass" })[v] ?? "" },
        },
        measurement: { position: "right", display: hasMeasurement, grid: { drawOnChartArea: false },
          title: { display: Boolean(units), text: units } },
      },
      plugins: { tooltip: { callbacks: { label: tooltip(points) } } },
      onClick: (_event, elements) => {
        if (elements.length) window.location.assign(points[elements[0].index].url);
      },
      onHover: (event, elements) => {
        event.native.target.style.cursor = elements.length ? "pointer" : "default";
      },
    },
  });
}

// The runs as a table too (newest first), built here rather than by the server's templates.
function fillTable(table, data) {
  const body = table.tBodies[0];
  for (const p of [...data.points].reverse()) {
    const row = body.insertRow();
    if (p.job === data.job) row.className = "table-active";
    const link = document.createElement("a");
    link.href = p.url;
    link.textContent = p.job;
    row.insertCell().append(link);
    const badge = document.createElement("span");
    badge.className = `badge ${BADGES[p.result] ?? BADGES.unknown}`;
    badge.textContent = p.result;
    row.insertCell().append(badge);
    const value = row.insertCell();
    value.className = "text-end font-monospace";
    value.textContent = p.measurement === null ? "" : `${p.measurement} ${p.units}`.trim();
    row.insertCell().textContent = p.time ? new Date(p.time).toLocaleString() : "";
  }
}

const canvas = document.getElementById("case-chart");
const data = chartData();
const runs = document.getElementById("runs");
if (runs && data) fillTable(runs, data);
if (canvas && data && window.Chart && data.points.length) {
  const chart = draw(canvas, data);
  canvas.dataset.points = String(data.points.length);
  window.lavaCaseChart = chart;  // for browser tests
}
