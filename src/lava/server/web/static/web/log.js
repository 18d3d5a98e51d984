// The job log viewer: a virtual window over a log of any length.
//
// Only the rows that fit the window exist in the DOM; lines come from the
// server a page at a time (log_lines, through the log's line index) and sit in
// a bounded cache of pages. The scroll bar measures lines, so line n of a
// million opens at once; level toggles and folded sections hide lines inside
// the window as it is drawn (the wheel then moves by shown rows). While the job
// runs, new lines arrive as server-sent events (log_stream) and the window
// follows the tail unless the reader scrolled up; when the server has no
// stream to spare, the viewer polls once a second until it gets one.

import { openStream } from "./log_live.js";
import { actionLevel, fillMore, fillRow, makeRow } from "./log_rows.js";

const ROW = 18; // px, as .log-line in log.css
const PAGE = 500; // lines a request, and a cache page
const MAX_PAGES = 240; // pages kept (120,000 lines)
const MAX_PX = 16_000_000; // tallest scroll space browsers handle well
const SCAN_AHEAD = 20 * PAGE; // lines looked through for shown rows in one draw
const GROUP = { exception: "error", event: "info", unknown: "info" };

function group(lvl) {
  return GROUP[lvl] || lvl;
}

class LogViewer {
  constructor(root) {
    this.root = root;
    const data = root.dataset;
    this.urls = { lines: data.linesUrl, find: data.findUrl, stream: data.streamUrl };
    this.resultsUrl = data.resultsUrl;
    this.finished = data.finished === "1";
    this.scroller = root.querySelector(".log-scroller");
    this.window = root.querySelector(".log-window");
    this.rowsBox = root.querySelector(".log-rows");
    this.spacer = root.querySelector(".log-spacer");
    this.status = root.querySelector(".log-status");
    this.followButton = root.querySelector('[data-action="follow"]');
    this.total = 0;
    this.pages = new Map(); // page number -> {lines: [], used}
    this.loading = new Set();
    this.hidden = new Set();
    this.folds = []; // {start, end}: lines start+1..end hidden
    this.highlight = -1;
    this.following = false;
    this.drawn = []; // line numbers in the window, in order
    this.frame = 0;
    this.expectTop = -1;
    this.mode = "";
    this.clock = 0;
  }

  // ---- set-up -------------------------------------------------------------

  async start() {
    this.bind();
    this.setFollowing(false);
    const target = lineFromHash();
    const first = await this.fetchPage(target === null ? 0 : Math.floor(target / PAGE));
    if (!first) return;
    if (target !== null) {
      this.goTo(target);
    } else if (!this.finished) {
      this.setFollowing(true);
      await this.fetchPage(Math.floor(Math.max(0, this.total - 1) / PAGE));
      this.toBottom();
    } else {
      this.draw();
    }
    if (!this.finished) this.openStream();
  }

  bind() {
    this.scroller.addEventListener("scroll", () => this.onScroll(), { passive: true });
    this.scroller.addEventListener("wheel", (e) => this.onWheel(e), { passive: false });
    new ResizeObserver(() => this.schedule()).observe(this.scroller);
    window.addEventListener("hashchange", () => {
      const target = lineFromHash();
      if (target !== null) this.goTo(target);
    });
    for (const button of this.root.querySelectorAll(".lvl-toggle")) {
      button.addEventListener("click", () => this.toggleLevel(button));
    }
    const actions = {
      "first-error": () => this.findError(0),
      "next-error": () => this.findError(this.highlight >= 0 ? this.highlight + 1 : this.topLine()),
      top: () => { this.setFollowing(false); this.scrollToLine(0); },
      bottom: () => this.toBottom(),
      follow: () => { this.setFollowing(!this.following); if (this.following) this.toBottom(); },
    };
    for (const [name, act] of Object.entries(actions)) {
      const button = this.root.querySelector(`[data-action="${name}"]`);
      if (button) button.addEventListener("click", act);
    }
    this.rowsBox.addEventListener("click", (e) => this.onRowClick(e));
  }

  // ---- geometry: the scroll bar measures lines ----------------------------

  metrics() {
    const view = this.scroller.clientHeight || ROW;
    const height = Math.min(this.total * ROW, MAX_PX);
    const maxScroll = Math.max(0, height - view);
    const span = Math.max(0, this.total - view / ROW); // first lines the top can show
    return { view, height, maxScroll, span };
  }

  topFloat() {
    const { maxScroll, span } = this.metrics();
    return maxScroll > 0 ? (this.scroller.scrollTop / maxScroll) * span : 0;
  }

  topLine() {
    return Math.min(Math.floor(this.topFloat()), Math.max(0, this.total - 1));
  }

  scrollToLine(n) {
    const { maxScroll, span } = this.metrics();
    const top = span > 0 ? Math.round((Math.max(0, Math.min(n, span)) / span) * maxScroll) : 0;
    this.expectTop = top;
    this.scroller.scrollTop = top;
    this.schedule();
  }

  atBottom() {
    return this.scroller.scrollTop >= this.metrics().maxScroll - 2;
  }

  toBottom() {
    this.sizeSpacer();
    this.expectTop = this.metrics().maxScroll;
    this.scroller.scrollTop = this.expectTop;
    this.schedule();
  }

  sizeSpacer() {
    const { height, view } = this.metrics();
    this.spacer.style.height = `${Math.max(0, height - view)}px`;
  }

  filtering() {
    return this.hidden.size > 0 || this.folds.length > 0;
  }

  // ---- lines and pages ----------------------------------------------------

  line(n) {
    const page = this.pages.get(Math.floor(n / PAGE));
    if (!page) return undefined;
    page.used = ++this.clock;
    return page.lines[n % PAGE];
  }

  want(n) {
    const number = Math.floor(n / PAGE);
    if (!this.loading.has(number)) this.fetchPage(number);
  }

  async fetchPage(number) {
    this.loading.add(number);
    try {
      const response = await fetch(`${this.urls.lines}?start=${number * PAGE}&count=${PAGE}`, {
        credentials: "same-origin",
      });
      if (!response.ok) {
        this.say(`The log could not be read (${response.status}).`);
        return false;
      }
      const data = await response.json();
      this.finished = this.finished || data.finished;
      this.store(data.start, data.lines, data.total);
      return true;
    } catch (error) {
      this.say(`The log could not be read: ${error}`);
      return false;
    } finally {
      this.loading.delete(number);
    }
  }

  store(start, lines, total) {
    for (let i = 0; i < lines.length; i++) {
      const n = start + i;
      const number = Math.floor(n / PAGE);
      let page = this.pages.get(number);
      if (!page) {
        page = { lines: [], used: 0 };
        this.pages.set(number, page);
      }
      page.lines[n % PAGE] = lines[i];
      page.used = ++this.clock;
    }
    this.total = Math.max(this.total, total, start + lines.length);
    this.root.dataset.lines = String(this.total);
    this.evict();
    this.sizeSpacer();
    if (this.following) {
      this.expectTop = this.metrics().maxScroll;
      this.scroller.scrollTop = this.expectTop;
    }
    this.schedule();
  }

  evict() {
    if (this.pages.size <= MAX_PAGES) return;
    const keep = new Set(this.drawn.map((n) => Math.floor(n / PAGE)));
    const old = [...this.pages.entries()]
      .filter(([number]) => !keep.has(number))
      .sort((a, b) => a[1].used - b[1].used);
    for (const [number] of old.slice(0, this.pages.size - MAX_PAGES)) this.pages.delete(number);
  }

  // ---- what is shown ------------------------------------------------------

  foldOver(n) {
    for (const fold of this.folds) if (n > fold.start && n <= fold.end) return fold;
    return null;
  }

  foldAt(n) {
    return this.folds.find((fold) => fold.start === n) || null;
  }

  shown(record) {
    return !this.hidden.has(group(record.lvl));
  }

  // Line numbers to draw from line n down, at most `rows` of them.
  downFrom(n, rows) {
    const out = [];
    let looked = 0;
    while (out.length < rows && n < this.total && looked < SCAN_AHEAD) {
      const fold = this.foldOver(n);
      if (fold) {
        n = fold.end + 1;
        continue;
      }
      const record = this.line(n);
      if (record === undefined) this.want(n);
      if (record === undefined || this.shown(record)) out.push(n);
      n++;
      looked++;
    }
    if (out.length < rows && n < this.total) out.push(-1 - n); // "more lines hidden"
    return out;
  }

  // The last `rows` shown lines of the log, for a window that follows the tail.
  upFromEnd(rows) {
    const out = [];
    let n = this.total - 1;
    let looked = 0;
    while (out.length < rows && n >= 0 && looked < SCAN_AHEAD) {
      const fold = this.foldOver(n);
      if (fold) {
        n = fold.start;
        continue;
      }
      const record = this.line(n);
      if (record === undefined) this.want(n);
      if (record === undefined || this.shown(record)) out.push(n);
      n--;
      looked++;
    }
    return out.reverse();
  }

  schedule() {
    if (!this.frame) this.frame = requestAnimationFrame(() => this.draw());
  }

  draw() {
    this.frame = 0;
    this.sizeSpacer();
    const view = this.window.clientHeight || this.metrics().view;
    const rows = Math.ceil(view / ROW) + 1;
    let numbers;
    let shift = 0;
    if (this.total > 0 && this.atBottom() && this.scroller.scrollTop > 0) {
      numbers = this.upFromEnd(Math.max(1, Math.floor(view / ROW)));
    } else {
      const top = this.topFloat();
      numbers = this.downFrom(Math.floor(top), rows);
      if (!this.filtering()) shift = (top - Math.floor(top)) * ROW;
    }
    this.drawn = numbers.filter((n) => n >= 0);
    this.paint(numbers);
    this.rowsBox.style.transform = shift ? `translateY(${-shift}px)` : "";
    this.report();
  }

  paint(numbers) {
    const box = this.rowsBox;
    while (box.children.length < numbers.length) box.appendChild(makeRow());
    while (box.children.length > numbers.length) box.lastChild.remove();
    numbers.forEach((n, i) => this.fill(box.children[i], n, n < 0 ? undefined : this.line(n)));
  }

  fill(row, n, record) {
    if (n < 0) {
      fillMore(row, -1 - n);
      return;
    }
    fillRow(row, n, record, {
      highlight: n === this.highlight,
      folded: Boolean(this.foldAt(n)),
      note: this.foldText(n),
      resultsUrl: this.resultsUrl,
    });
  }

  foldText(n) {
    const fold = this.foldAt(n);
    if (!fold) return "";
    if (fold.end === Infinity) return "[folded to the end]";
    return `[${fold.end - fold.start} lines folded]`;
  }

  report() {
    const state = this.finished ? "finished" : this.mode || "running";
    this.say(`${this.total.toLocaleString()} lines · ${state}`);
  }

  say(text) {
    if (this.status && this.status.textContent !== text) this.status.textContent = text;
  }

  // ---- the reader ---------------------------------------------------------

  onScroll() {
    const top = this.scroller.scrollTop;
    const ours = Math.abs(top - this.expectTop) < 2;
    this.expectTop = -1;
    if (!ours && !this.finished) this.setFollowing(this.atBottom());
    this.schedule();
  }

  // With lines hidden, a wheel step moves by shown rows, not by lines of the log.
  onWheel(event) {
    if (!this.filtering() || event.ctrlKey || Math.abs(event.deltaX) > Math.abs(event.deltaY)) {
      return;
    }
    event.preventDefault();
    const unit = event.deltaMode === 1 ? 1 : event.deltaMode === 2 ? 20 : 1 / ROW;
    let steps = Math.round(event.deltaY * unit) || Math.sign(event.deltaY);
    let n = this.drawn.length ? this.drawn[0] : this.topLine();
    const direction = Math.sign(steps);
    let looked = 0;
    while (steps !== 0 && looked < SCAN_AHEAD) {
      n += direction;
      looked++;
      if (n < 0 || n >= this.total) break;
      const fold = this.foldOver(n);
      if (fold) {
        n = direction > 0 ? fold.end : fold.start + 1;
        continue;
      }
      const record = this.line(n);
      if (record === undefined || this.shown(record)) steps -= direction;
    }
    if (direction > 0 && n >= this.total) {
      this.toBottom();
      return;
    }
    this.scrollToLine(Math.max(0, n));
    if (!this.finished) this.setFollowing(false);
  }

  onRowClick(event) {
    const row = event.target.closest(".log-line");
    if (!row || row.dataset.n === "") return;
    const n = Number(row.dataset.n);
    if (event.target.classList.contains("ln")) {
      event.preventDefault();
      history.replaceState(null, "", `#L${n + 1}`);
      this.highlight = n;
      this.schedule();
    } else if (event.target.classList.contains("fold")) {
      this.toggleFold(n);
    }
  }

  setFollowing(on) {
    this.following = on && !this.finished;
    if (this.followButton) {
      this.followButton.classList.toggle("active", this.following);
      this.followButton.setAttribute("aria-pressed", String(this.following));
      this.followButton.hidden = this.finished; // nothing more will come
    }
  }

  async goTo(n) {
    this.setFollowing(false);
    n = Math.max(0, Math.min(n, Math.max(0, this.total - 1)));
    this.highlight = n;
    if (this.line(n) === undefined) await this.fetchPage(Math.floor(n / PAGE));
    n = Math.min(n, Math.max(0, this.total - 1));
    const lead = Math.floor(this.metrics().view / ROW / 3);
    this.scrollToLine(Math.max(0, n - lead));
    await new Promise((resolve) => requestAnimationFrame(resolve));
    this.draw();
    // a deep link: bring the line into the window too, if the page is taller than it
    const row = document.getElementById(`L${n + 1}`);
    if (row) {
      const box = row.getBoundingClientRect();
      if (box.top < 0 || box.bottom > window.innerHeight) {
        window.scrollBy(0, box.top - window.innerHeight / 3);
      }
    }
  }

  toggleLevel(button) {
    const level = button.dataset.level;
    const on = this.hidden.has(level);
    if (on) this.hidden.delete(level);
    else this.hidden.add(level);
    button.classList.toggle("active", on);
    button.setAttribute("aria-pressed", String(on));
    this.schedule();
  }

  async toggleFold(n) {
    const open = this.folds.findIndex((fold) => fold.start === n);
    if (open >= 0) {
      this.folds.splice(open, 1);
      this.schedule();
      return;
    }
    const level = actionLevel(this.line(n)?.msg);
    if (!level) return;
    const end = await this.search({ end: level }, n + 1);
    this.folds.push({ start: n, end: end === null ? Infinity : end });
    this.schedule();
  }

  async findError(from) {
    this.say("Looking for an error…");
    const line = await this.search({ lvl: "error" }, from);
    if (line === null) {
      this.say(from > 0 ? "No error after this line." : "No error in this log.");
      return;
    }
    const button = this.root.querySelector('.lvl-toggle[data-level="error"]');
    if (button && this.hidden.has("error")) this.toggleLevel(button);
    history.replaceState(null, "", `#L${line + 1}`);
    this.goTo(line);
  }

  // The first line from `from` the server finds for `what` ({lvl} or {end}), or null.
  async search(what, from) {
    for (let calls = 0; calls < 200; calls++) {
      const query = new URLSearchParams({ ...what, from: String(from) });
      const response = await fetch(`${this.urls.find}?${query}`, { credentials: "same-origin" });
      if (!response.ok) return null;
      const found = await response.json();
      if (found.line !== null) return found.line;
      if (found.next >= found.total) return null;
      from = found.next;
    }
    return null;
  }

  // ---- new lines while the job runs (log_live.js) ---------------------------

  openStream() {
    openStream(this);
  }

  end() {
    if (!this.finished) document.dispatchEvent(new CustomEvent("lava:job-finished"));
    this.finished = true;
    this.mode = "";
    this.setFollowing(false);
    this.schedule();
  }
}

function lineFromHash() {
  const match = /^#L(\d{1,12})$/.exec(window.location.hash);
  return match ? Math.max(0, Number(match[1]) - 1) : null;
}

const root = document.getElementById("log-viewer");
if (root) {
  const viewer = new LogViewer(root);
  viewer.start();
  root.viewer = viewer; // for the browser tests and the console
}
