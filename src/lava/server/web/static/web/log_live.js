// New lines of a running job for the log viewer (log.js).
//
// Server-sent events from log_stream: each "lines" event carries a batch and
// its first line's number; the browser reconnects by itself when the server
// ends a stream (they live under a minute) and resumes from the last event id.
// "finished" ends it. When the server has no stream to spare ("busy", or the
// stream fails), the viewer asks log_lines for new lines once a second for a
// while, then tries a stream again.

const BATCH = 1000; // lines a poll asks for (log_lines' largest page)
const BEHIND = 5 * BATCH; // further behind than this, a poll skips to the tail

export function openStream(viewer) {
  if (viewer.finished) return;
  if (typeof EventSource === "undefined") {
    poll(viewer, Infinity);
    return;
  }
  const source = new EventSource(`${viewer.urls.stream}?line=${viewer.total}`);
  viewer.mode = "live";
  source.addEventListener("lines", (event) => {
    const data = JSON.parse(event.data);
    viewer.store(data.start, data.lines, data.total);
  });
  source.addEventListener("finished", (event) => {
    source.close();
    viewer.total = Math.max(viewer.total, JSON.parse(event.data).total);
    viewer.end();
  });
  source.addEventListener("busy", () => {
    source.close();
    poll(viewer, 30);
  });
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED && !viewer.finished) poll(viewer, 30);
  });
}

// Ask for new lines once a second, `rounds` times, then try a stream again.
async function poll(viewer, rounds) {
  viewer.mode = "polling";
  for (let i = 0; i < rounds && !viewer.finished; i++) {
    const start = viewer.total;
    const response = await fetch(`${viewer.urls.lines}?start=${start}&count=${BATCH}`, {
      credentials: "same-origin",
    }).catch(() => null);
    if (response && response.ok) {
      const data = await response.json();
      if (data.total - start > BEHIND) {
        viewer.total = Math.max(0, data.total - BATCH); // the window pages in the rest
        continue;
      }
      viewer.store(data.start, data.lines, data.total);
      if (data.finished && data.start + data.lines.length >= data.total) {
        viewer.end();
        return;
      }
      if (data.lines.length === BATCH) continue;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  if (!viewer.finished) openStream(viewer);
}
