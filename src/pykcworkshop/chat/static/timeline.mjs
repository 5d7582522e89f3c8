// How a conversation is laid out in time: day separators ("Today", "Yesterday", a date),
// which messages are grouped under their author's header, and the time formats. Pure (no
// DOM); messages.mjs applies the layout to the list. Days are local calendar days.

/** Consecutive messages by one author within this long of the group's first are grouped. */
export const GROUP_WINDOW_MS = 5 * 60_000;

const pad = (n) => String(n).padStart(2, "0");

// Building an Intl.DateTimeFormat is slow next to using one: keep them.
const formatters = new Map();
function formatter(locale, options) {
  const key = `${locale ?? ""}|${JSON.stringify(options)}`;
  let format = formatters.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat(locale, options);
    formatters.set(key, format);
  }
  return format;
}

/** The local calendar day of a time, as "YYYY-MM-DD" (also the separators' data-day). */
export function dayKey(ms) {
  const date = new Date(ms);
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** "Today", "Yesterday", else e.g. "Monday, July 1" (this year) or "July 1, 2023". */
export function dayLabel(ms, now = new Date(), locale = undefined) {
  const key = dayKey(ms);
  if (key === dayKey(now.getTime())) return "Today";
  // The calendar day before, not 24 hours before (days are 23 or 25 hours around DST).
  const yesterday = new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1, 12);
  if (key === dayKey(yesterday.getTime())) return "Yesterday";
  const date = new Date(ms);
  const options =
    date.getFullYear() === now.getFullYear()
      ? { weekday: "long", month: "long", day: "numeric" }
      : { year: "numeric", month: "long", day: "numeric" };
  return formatter(locale, options).format(date);
}

/** Milliseconds from `now` until the next local midnight (when "Today" turns "Yesterday"). */
export function msUntilNextDay(now = new Date()) {
  const midnight = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1);
  return midnight.getTime() - now.getTime();
}

/** The time of day shown on a message, e.g. "14:03" (the separators give the day). */
export function formatClock(ms, locale = undefined) {
  return formatter(locale, { hour: "2-digit", minute: "2-digit" }).format(ms);
}

/** The full date and time, shown on hover: e.g. "Monday, July 1, 2024 at 2:03:05 PM". */
export function formatFullDate(ms, locale = undefined) {
  return formatter(locale, { dateStyle: "full", timeStyle: "medium" }).format(ms);
}

/**
 * Lay out messages (in display order; each {user_id, user_name, ms, system}) in time:
 * returns one {day, newDay, continued} per message. `newDay`: a day separator goes before
 * it (always on the first). `continued`: it joins the previous message's group, so its
 * author header is not repeated: same author, same day, neither is a system message, and
 * at most `windowMs` after the group's first message (so a header's time is never far off).
 */
export function layoutTimeline(messages, windowMs = GROUP_WINDOW_MS) {
  const layout = [];
  let previous = null;
  let groupStart = null;
  for (const message of messages) {
    const day = dayKey(message.ms);
    const newDay = previous === null || day !== layout.at(-1).day;
    const continued =
      !newDay &&
      !message.system &&
      !previous.system &&
      message.user_id === previous.user_id &&
      message.user_name === previous.user_name &&
      message.ms >= groupStart.ms &&
      message.ms - groupStart.ms <= windowMs;
    if (!continued) groupStart = message;
    layout.push({ day, newDay, continued });
    previous = message;
  }
  return layout;
}
