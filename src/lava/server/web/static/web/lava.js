// Behaviour every page shares; page-specific modules live beside this one.
// A <time datetime="..."> (UTC) shows the reader's local time as its tooltip.
for (const el of document.querySelectorAll("time[datetime]")) {
  const when = new Date(el.getAttribute("datetime"));
  if (!Number.isNaN(when.getTime())) el.title = when.toLocaleString();
}
