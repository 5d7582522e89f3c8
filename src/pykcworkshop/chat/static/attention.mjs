// What the tab shows when something wants the user's attention: a count in the page title
// ("(3) pykcworkshop chat") and a badge on the favicon.
//
// Counts come from named sources, each reporting {unread, mentions} (mentions are the part of
// unread that calls the user personally: mentions and direct messages):
//   "live"           notify.mjs: mentions and DMs that arrived while the tab was hidden
//   "room:<hash>"    (for server-backed unread counts per room: call setCounts from there)
// The title shows the sum of `unread` over all sources; the favicon shows a red badge with
// the sum of `mentions` when there are any. Page code sets the title through setBaseTitle,
// never document.title, so the count stays in front.
//
// The pure helpers (attentionTitle, badgeText, totalOf) are exported for tests.

const sources = new Map(); // source → {unread, mentions}
let baseTitle = "pykcworkshop chat";
let favicon = null; // {link, href, image: Promise<HTMLImageElement>}
let drawn = 0; // generation of the favicon drawing, so a late one never wins
const BADGE_SIZE = 64;

/** "(3) base", or the base alone when the count is 0. */
export function attentionTitle(base, count) {
  return count > 0 ? `(${count > 999 ? "999+" : count}) ${base}` : base;
}

/** The text in the favicon's badge: "1"…"9", then "9+". */
export function badgeText(count) {
  return count > 9 ? "9+" : String(count);
}

/** The sums of unread and mentions over the sources (a Map or an iterable of counts). */
export function totalOf(counts) {
  let unread = 0;
  let mentions = 0;
  for (const entry of counts.values ? counts.values() : counts) {
    unread += entry.unread;
    mentions += entry.mentions;
  }
  return { unread, mentions };
}

function clean(value) {
  return Number.isInteger(value) && value > 0 ? value : 0;
}

/**
 * Report a source's counts ({unread, mentions}; mentions count as unread, so a source
 * passes unread ≥ mentions). Zero counts remove the source.
 */
export function setCounts(source, { unread = 0, mentions = 0 } = {}) {
  const entry = { unread: Math.max(clean(unread), clean(mentions)), mentions: clean(mentions) };
  if (entry.unread === 0) sources.delete(source);
  else sources.set(source, entry);
  update();
}

/** Forget a source (e.g. a room that was left). */
export function clearCounts(source) {
  if (sources.delete(source)) update();
}

/** The current sums over all sources. */
export function totals() {
  return totalOf(sources);
}

/** Set the page title without the count (the count is put in front of it). */
export function setBaseTitle(title) {
  baseTitle = title || "pykcworkshop chat";
  update();
}

function update() {
  const { unread, mentions } = totals();
  document.title = attentionTitle(baseTitle, unread);
  document.documentElement.dataset.attention = String(unread);
  drawFavicon(mentions);
}

// ---- favicon ------------------------------------------------------------------------------

function faviconLink() {
  if (favicon) return favicon;
  const link = document.querySelector('link[rel~="icon"]');
  if (!link) return null;
  const href = link.href;
  const image = new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error("the favicon did not load"));
    img.src = href;
  });
  favicon = { link, href, image };
  return favicon;
}

/** The original favicon, or it with a red badge showing `count`, drawn on a canvas. */
async function drawFavicon(count) {
  const icon = faviconLink();
  if (!icon) return;
  const generation = ++drawn;
  if (count === 0) {
    setIcon(icon, icon.href, "");
    return;
  }
  let image;
  try {
    image = await icon.image;
  } catch (error) {
    console.warn(error.message);
    return;
  }
  if (generation !== drawn) return;
  const canvas = document.createElement("canvas");
  canvas.width = BADGE_SIZE;
  canvas.height = BADGE_SIZE;
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  ctx.drawImage(image, 0, 0, BADGE_SIZE, BADGE_SIZE);
  const radius = BADGE_SIZE * 0.3;
  const cx = BADGE_SIZE - radius;
  const cy = radius;
  ctx.beginPath();
  ctx.arc(cx, cy, radius, 0, 2 * Math.PI);
  ctx.fillStyle = "#dc2626";
  ctx.fill();
  ctx.lineWidth = BADGE_SIZE * 0.05;
  ctx.strokeStyle = "#ffffff";
  ctx.stroke();
  const text = badgeText(count);
  ctx.fillStyle = "#ffffff";
  ctx.font = `bold ${Math.round(radius * (text.length > 1 ? 1.05 : 1.4))}px system-ui, sans-serif`;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillText(text, cx, cy + radius * 0.08);
  setIcon(icon, canvas.toDataURL("image/png"), text);
}

function setIcon(icon, href, badge) {
  // Browsers pick up a changed favicon when the link's href changes.
  if (icon.link.href !== href) icon.link.href = href;
  if (badge) icon.link.dataset.badge = badge;
  else delete icon.link.dataset.badge;
}
