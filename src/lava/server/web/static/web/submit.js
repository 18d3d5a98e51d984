// The submit page: line numbers beside the definition, checked as it is typed.
// Each pause in typing POSTs the text to this page with X-Requested-With (LAVA's AJAX
// check); the JSON answer names the problem and its line, which is marked in the gutter
// and shown next to that line.
// A pause this long starts a check; a large definition waits longer (about 1 ms a KB),
// since each check reads the whole text on the server.
const DELAY_MS = 400;
const delay = () => DELAY_MS + Math.floor(text.value.length / 1024);

const form = document.getElementById("submit-form");
const text = document.getElementById("definition-input");
const gutter = document.getElementById("definition-gutter");
const note = document.getElementById("definition-note");
const status = document.getElementById("validation-status");
const file = document.getElementById("definition-file");
const fileName = document.getElementById("file-name");
const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;

let marks = new Map(); // line -> "bad" | "warn"
let noted = null; // {line, kind, message}
let timer = null;
let pending = null;
let lines = 0;

function countLines(value) {
  let n = 1;
  for (let i = value.indexOf("\n"); i !== -1; i = value.indexOf("\n", i + 1)) n += 1;
  return n;
}

function drawGutter() {
  const fragment = document.createDocumentFragment();
  let run = [];
  const flush = () => {
    if (run.length) fragment.append(run.join("\n") + "\n");
    run = [];
  };
  for (let n = 1; n <= lines; n += 1) {
    const kind = marks.get(n);
    if (!kind) {
      run.push(String(n));
      continue;
    }
    flush();
    const span = document.createElement("span");
    span.className = kind;
    span.textContent = String(n);
    fragment.append(span, "\n");
  }
  flush();
  gutter.replaceChildren(fragment);
  gutter.scrollTop = text.scrollTop;
}

function lineHeight() {
  return parseFloat(getComputedStyle(text).lineHeight) || 20;
}

function placeNote() {
  if (!noted || noted.line > lines) {
    note.classList.add("d-none");
    return;
  }
  const padding = parseFloat(getComputedStyle(text).paddingTop) || 0;
  const top = padding + (noted.line - 1) * lineHeight() - text.scrollTop;
  const visible = top >= 0 && top < text.clientHeight - lineHeight() / 2;
  note.classList.toggle("d-none", !visible);
  note.style.top = `${top + 1}px`;
}

function goTo(line) {
  const value = text.value;
  let start = 0;
  for (let n = 1; n < line && start !== -1; n += 1) start = value.indexOf("\n", start) + 1 || -1;
  if (start === -1) start = value.length;
  const end = value.indexOf("\n", start);
  text.focus();
  text.setSelectionRange(start, end === -1 ? value.length : end);
  text.scrollTop = Math.max(0, (line - 3) * lineHeight());
  gutter.scrollTop = text.scrollTop;
  placeNote();
}

function alertBox(kind, line, message) {
  const box = document.createElement("div");
  box.className = `alert alert-${kind} py-2 mb-1`;
  if (line) {
    const link = document.createElement("a");
    link.href = "#";
    link.className = "alert-link";
    link.dataset.goto = String(line);
    link.textContent = `Line ${line}`;
    box.append(link, ": ");
  }
  const span = document.createElement("span");
  span.className = "message";
  span.textContent = message;
  box.append(span);
  return box;
}

function show(answer) {
  marks = new Map();
  noted = null;
  const boxes = [];
  if (answer.result === "failure") {
    if (answer.line) {
      marks.set(answer.line, "bad");
      noted = { line: answer.line, kind: "bad", message: answer.message };
    }
    boxes.push(alertBox("danger", answer.line, answer.message));
  } else if (answer.result === "success") {
    boxes.push(alertBox("success", null, "Valid: ready to submit."));
  } else {
    boxes.push(alertBox("secondary", null, answer.message));
  }
  for (const warning of answer.warnings || []) {
    if (warning.line && !marks.has(warning.line)) marks.set(warning.line, "warn");
    if (warning.line && !noted) noted = { line: warning.line, kind: "warn", message: warning.message };
    boxes.push(alertBox("warning", warning.line, `Warning: ${warning.message}`));
  }
  status.dataset.result = answer.result;
  status.replaceChildren(...boxes);
  if (noted) {
    note.textContent = noted.message;
    note.title = noted.message;
    note.className = `editor-note ${noted.kind}`;
  }
  drawGutter();
  placeNote();
}

async function validate() {
  clearTimeout(timer);
  if (pending) pending.abort();
  const controller = new AbortController();
  pending = controller;
  const body = new FormData();
  body.append("definition-input", text.value);
  body.append("csrfmiddlewaretoken", csrf);
  try {
    const answer = await fetch(form.action, {
      method: "POST",
      body,
      headers: { "X-Requested-With": "XMLHttpRequest", "X-CSRFToken": csrf },
      credentials: "same-origin",
      signal: controller.signal,
    });
    const type = answer.headers.get("Content-Type") || "";
    if (!type.startsWith("application/json")) {
      show({ result: "failure", message: `Cannot check the definition (the server answered ${answer.status}; are you still signed in?).` });
      return;
    }
    show(await answer.json());
  } catch (error) {
    if (error.name !== "AbortError") show({ result: "failure", message: `Cannot check the definition: ${error.message}` });
  } finally {
    if (pending === controller) pending = null;
  }
}

function changed() {
  const count = countLines(text.value);
  if (count !== lines) {
    lines = count;
    drawGutter();
  }
  placeNote();
  clearTimeout(timer);
  timer = setTimeout(validate, delay());
}

text.addEventListener("input", changed);
text.addEventListener("scroll", () => {
  gutter.scrollTop = text.scrollTop;
  placeNote();
});
status.addEventListener("click", (event) => {
  const link = event.target.closest("[data-goto]");
  if (!link) return;
  event.preventDefault();
  goTo(Number(link.dataset.goto));
});
document.getElementById("validate-button").addEventListener("click", validate);
file.addEventListener("change", async () => {
  const chosen = file.files[0];
  if (!chosen) return;
  fileName.textContent = chosen.name;
  text.value = await chosen.text();
  file.value = ""; // the text field now holds it: submitted once, as typed
  lines = 0;
  changed();
  validate();
});
window.addEventListener("resize", placeNote);

// first paint: the numbers, and a problem the server found in a refused submission
lines = countLines(text.value);
const refusedLine = Number(status.dataset.line);
if (status.dataset.result === "failure" && refusedLine) {
  const message = status.querySelector(".message")?.textContent || "";
  marks.set(refusedLine, "bad");
  noted = { line: refusedLine, kind: "bad", message };
  note.textContent = message;
  note.title = message;
  note.className = "editor-note bad";
}
drawGutter();
if (noted) goTo(noted.line);
else if (text.value.trim()) validate();
