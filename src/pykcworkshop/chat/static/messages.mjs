// A rendered list of chat messages, used for the room chat and for direct messages.
// It checks each message's shape, keeps the list in time order, drops duplicates (by
// message `id` when the server sends one, otherwise by (user_id, timestamp, content)), and
// manages scrolling: it follows new messages only when the reader is already at the bottom,
// otherwise counts them on the "new messages" pill; when older messages are added above, it
// keeps what the reader is looking at in place.

import { el } from "./dom.mjs";
import { SYSTEM_USER_NAME } from "./constants.mjs";

const ISO_TIMESTAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * Parse an ISO 8601 timestamp such as "2024-07-01T12:30:05.123456+00:00".
 * Returns {ms, micros} (since the epoch) or null. Microseconds matter for ordering
 * messages sent within the same millisecond; Date only keeps milliseconds.
 */
export function parseTimestamp(iso) {
  if (typeof iso !== "string") return null;
  const match = ISO_TIMESTAMP.exec(iso.trim());
  if (!match) {
    const ms = Date.parse(iso);
    return Number.isNaN(ms) ? null : { ms, micros: ms * 1000 };
  }
  const [, wholeSeconds, fraction = "", rawOffset = "Z"] = match;
  const offset =
    rawOffset.toUpperCase() === "Z" ? "Z" : `${rawOffset.slice(0, 3)}:${rawOffset.slice(-2)}`;
  const seconds = Date.parse(`${wholeSeconds}${offset}`);
  if (Number.isNaN(seconds)) return null;
  const micros = seconds * 1000 + Number(fraction.padEnd(6, "0").slice(0, 6));
  return { ms: Math.floor(micros / 1000), micros };
}

/** Check a message object from the server; returns a normalized copy or null. */
export function normalizeMessage(raw) {
  if (!raw || typeof raw !== "object") return null;
  const { user_name, user_id, content, timestamp } = raw;
  if (typeof user_name !== "string" || !Number.isInteger(user_id)) return null;
  if (typeof content !== "string" || typeof timestamp !== "string") return null;
  const time = parseTimestamp(timestamp);
  if (!time) return null;
  const id = Number.isInteger(raw.id) ? raw.id : null;
  return {
    user_name,
    user_id,
    content,
    timestamp,
    id,
    ms: time.ms,
    micros: time.micros,
  };
}

const timeOnly = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit",
  minute: "2-digit",
});
const dayAndTime = new Intl.DateTimeFormat(undefined, {
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
});
const fullDate = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
});
const longDate = new Intl.DateTimeFormat(undefined, {
  dateStyle: "full",
  timeStyle: "medium",
});

/** Local time for a message: "14:03" today, "Jul 1, 14:03" this year, else with the year. */
export function formatTime(ms, now = new Date()) {
  const date = new Date(ms);
  if (date.toDateString() === now.toDateString()) return timeOnly.format(date);
  if (date.getFullYear() === now.getFullYear()) return dayAndTime.format(date);
  return fullDate.format(date);
}

function compareMessages(a, b) {
  if (a.micros !== b.micros) return a.micros - b.micros;
  if (a.id !== null && b.id !== null && a.id !== b.id) return a.id - b.id;
  return a.seq - b.seq;
}

function tupleKey(message) {
  return `${message.user_id}\u0000${message.micros}\u0000${message.content}`;
}

export class MessageList {
  #scroller;
  #list;
  #pill;
  #empty;
  #myId;
  #onNearTop;
  #items = []; // normalized messages in display order, each with its DOM `node`
  #byId = new Map();
  #byTuple = new Map();
  #seq = 0;
  #unseen = 0;
  #abort = new AbortController();

  /**
   * @param {object} parts
   *   scroller   the scrolling element
   *   list       the <ol> that holds the messages
   *   myId       the logged-in user's id (own messages look different)
   *   pill       optional "new messages" button
   *   empty      optional element shown while there are no messages
   *   onNearTop  optional callback when the reader scrolls near the top (load older)
   */
  constructor({ scroller, list, myId, pill = null, empty = null, onNearTop = null }) {
    this.#scroller = scroller;
    this.#list = list;
    this.#myId = myId;
    this.#pill = pill;
    this.#empty = empty;
    this.#onNearTop = onNearTop;
    const { signal } = this.#abort;
    scroller.addEventListener("scroll", () => this.#scrolled(), {
      passive: true,
      signal,
    });
    pill?.addEventListener("click", () => this.scrollToBottom(), { signal });
    this.reset();
  }

  get size() {
    return this.#items.length;
  }

  /** The oldest / newest message shown (normalized, with `ms`, `micros`, `id`), or null. */
  oldest() {
    return this.#items[0] ?? null;
  }

  newest() {
    return this.#items.at(-1) ?? null;
  }

  /** All messages in order (copies without DOM nodes). */
  messages() {
    return this.#items.map(({ node, seq, ...message }) => message);
  }

  isAtBottom(slack = 48) {
    const s = this.#scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight <= slack;
  }

  scrollToBottom() {
    this.#scroller.scrollTop = this.#scroller.scrollHeight;
    this.#unseen = 0;
    this.#updatePill();
  }

  /**
   * Add messages from the server; returns how many were new.
   * `position` says where they come from, which decides the scrolling:
   *   "initial" first page → jump to the bottom
   *   "older"   history above → keep the reading position
   *   "live" / "newer" (catch-up) → follow only if at the bottom (or if it is our own)
   */
  add(rawMessages, { position = "live" } = {}) {
    const wasAtBottom = this.isAtBottom();
    const heightBefore = this.#scroller.scrollHeight;
    const topBefore = this.#scroller.scrollTop;

    const added = [];
    for (const raw of rawMessages) {
      const message = normalizeMessage(raw);
      if (!message) {
        console.warn("ignored a malformed message", raw);
        continue;
      }
      if (this.#isDuplicate(message)) continue;
      this.#insert(message);
      added.push(message);
    }
    if (added.length === 0) return 0;
    if (this.#empty) this.#empty.hidden = true;

    if (position === "older") {
      this.#scroller.scrollTop = topBefore + (this.#scroller.scrollHeight - heightBefore);
    } else if (position === "initial") {
      this.scrollToBottom();
    } else if (wasAtBottom || added.some((m) => m.user_id === this.#myId)) {
      this.scrollToBottom();
    } else {
      this.#unseen += added.length;
      this.#updatePill();
    }
    return added.length;
  }

  /** Remove every message. */
  reset() {
    this.#items = [];
    this.#byId.clear();
    this.#byTuple.clear();
    this.#list.replaceChildren();
    this.#unseen = 0;
    this.#updatePill();
    if (this.#empty) this.#empty.hidden = false;
  }

  /** Stop listening to the page and empty the list. */
  destroy() {
    this.#abort.abort();
    this.reset();
  }

  #isDuplicate(message) {
    if (message.id !== null && this.#byId.has(message.id)) return true;
    const same = this.#byTuple.get(tupleKey(message));
    // Two different messages with ids are never duplicates, whatever their content.
    return Boolean(same) && (message.id === null || same.id === null);
  }

  #insert(message) {
    message.seq = this.#seq++;
    message.node = this.#render(message);
    // Binary search for the insertion point; most messages go at the end.
    let low = 0;
    let high = this.#items.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (compareMessages(this.#items[mid], message) <= 0) low = mid + 1;
      else high = mid;
    }
    const next = this.#items[low]?.node ?? null;
    this.#list.insertBefore(message.node, next);
    this.#items.splice(low, 0, message);
    if (message.id !== null) this.#byId.set(message.id, message);
    this.#byTuple.set(tupleKey(message), message);
  }

  #render(message) {
    const own = message.user_id === this.#myId;
    const system = message.user_name === SYSTEM_USER_NAME;
    const kind = system ? "msg msg-system" : own ? "msg msg-own" : "msg msg-other";
    const node = el("li", {
      class: kind,
      dataset: {
        testid: "message",
        author: message.user_name,
        userId: String(message.user_id),
        own: String(own),
        system: String(system),
      },
    });
    if (message.id !== null) node.dataset.messageId = String(message.id);

    const time = el("time", {
      class: "msg-time",
      datetime: message.timestamp,
      title: longDate.format(new Date(message.ms)),
      text: formatTime(message.ms),
    });
    const content = el("p", {
      class: "msg-content",
      dataset: { testid: "message-content" },
      text: message.content,
    });

    if (system) {
      node.append(content, " ", time);
    } else {
      const author = el("span", {
        class: "msg-author",
        dataset: { testid: "message-author" },
        text: message.user_name,
      });
      node.append(el("div", { class: "msg-meta" }, [author, time]), content);
    }
    return node;
  }

  #scrolled() {
    if (this.#unseen > 0 && this.isAtBottom()) {
      this.#unseen = 0;
      this.#updatePill();
    }
    if (this.#onNearTop && this.#scroller.scrollTop < 200) this.#onNearTop();
  }

  #updatePill() {
    if (!this.#pill) return;
    this.#pill.hidden = this.#unseen === 0;
    const label = this.#unseen === 1 ? "1 new message ↓" : `${this.#unseen} new messages ↓`;
    this.#pill.textContent = label;
  }
}
