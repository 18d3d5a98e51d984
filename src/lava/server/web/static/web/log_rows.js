// The rows of the log viewer (log.js): one reused <div> a line in the window.
//
// A row is "L<n>" (its anchor), a fold toggle on the line that starts an action,
// the message, and a note on a folded section. Messages are set as text, never
// as HTML; a results line links to its test case.

const MAX_MSG = 4000; // characters of a message drawn in a row

export function makeRow() {
  const row = document.createElement("div");
  row.className = "log-line";
  const anchor = document.createElement("a");
  anchor.className = "ln";
  const toggle = document.createElement("button");
  toggle.type = "button";
  const msg = document.createElement("span");
  msg.className = "msg";
  const note = document.createElement("span");
  note.className = "folded";
  row.append(anchor, toggle, msg, note);
  return row;
}

// Line n (0-based, shown as L<n+1>); `record` undefined while its page loads.
// `view`: {highlight, folded, note, resultsUrl}.
export function fillRow(row, n, record, view) {
  const label = `L${n + 1}`;
  if (row.dataset.n === String(n) && row.record === record && row.hl === view.highlight
      && row.note === view.note) {
    return; // unchanged since the last draw
  }
  row.dataset.n = String(n);
  row.record = record;
  row.hl = view.highlight;
  row.note = view.note;
  row.id = label;
  const [anchor, toggle, msg, note] = row.children;
  anchor.href = `#${label}`;
  anchor.textContent = label;
  if (record === undefined) {
    row.className = "log-line pending";
    row.title = "";
    toggle.className = "nofold";
    toggle.textContent = "";
    msg.textContent = "…";
    note.textContent = "";
    return;
  }
  const lvl = record.lvl || "unknown";
  let classes = `log-line lvl-${lvl}`;
  if (lvl === "results" && isFailure(record.msg)) classes += " fail";
  if (view.highlight) classes += " highlight";
  row.className = classes;
  row.title = record.dt || "";
  const action = actionLevel(record.msg);
  toggle.className = action ? "fold" : "nofold";
  toggle.textContent = action ? (view.folded ? "▸" : "▾") : "";
  toggle.title = action ? "Fold or unfold this action's lines" : "";
  msg.replaceChildren(...message(record, view.resultsUrl));
  note.textContent = view.note;
}

// The row that says the scan for shown lines stopped before the window was full.
export function fillMore(row, next) {
  row.dataset.n = "";
  row.record = undefined;
  row.note = undefined;
  row.id = "";
  row.className = "log-line more";
  const [anchor, toggle, msg, note] = row.children;
  anchor.removeAttribute("href");
  anchor.textContent = "";
  toggle.className = "nofold";
  toggle.textContent = "";
  msg.textContent = `… lines hidden by the level toggles or folds; more from line ${next + 1} on`;
  note.textContent = "";
}

function message(record, resultsUrl) {
  const msg = record.msg;
  if (typeof msg === "string") return [clip(msg)];
  if (record.lvl === "results" && msg && typeof msg === "object") return result(msg, resultsUrl);
  return [clip(JSON.stringify(msg))];
}

// LAVA's results line: every key and value, the case linked to its page.
function result(msg, resultsUrl) {
  const parts = [];
  if (msg.definition !== undefined && msg.case !== undefined) {
    const link = document.createElement("a");
    link.href = `${resultsUrl}${encodeURIComponent(msg.definition)}/${encodeURIComponent(msg.case)}`;
    link.textContent = `${msg.definition}/${msg.case}`;
    parts.push("results: ", link);
  }
  let rest = "";
  for (const [key, value] of Object.entries(msg)) {
    if (key === "definition" || key === "case") continue;
    const shown = key === "extra" ? "..." : typeof value === "object" ? JSON.stringify(value) : value;
    rest += ` ${key}: ${shown}`;
  }
  parts.push(clip(rest));
  return parts;
}

function clip(text) {
  return text.length > MAX_MSG ? `${text.slice(0, MAX_MSG)}…` : text;
}

// "start: 1.2.3 name (timeout ...)" opens action 1.2.3's section.
export function actionLevel(msg) {
  if (typeof msg !== "string" || !msg.startsWith("start: ")) return "";
  const level = msg.slice(7).split(" ", 1)[0];
  return /^\d+(\.\d+)*$/.test(level) ? level : "";
}

function isFailure(msg) {
  return Boolean(msg && typeof msg === "object" && String(msg.result).toLowerCase() === "fail");
}
