// Message values: parsing the server's timestamps, checking a message object's shape, the
// display order, whether a text mentions someone, and an index that recognises a message
// already shown (by `id` when the server sends one, otherwise by (user_id, timestamp,
// content)).

import { tokenize } from "./richtext.mjs";

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
    // Only on a message its author edited (ISO 8601), else null.
    edited_at: typeof raw.edited_at === "string" ? raw.edited_at : null,
    ms: time.ms,
    micros: time.micros,
  };
}

/** Display order: by time (microseconds), then id, then arrival (`seq`). */
export function compareMessages(a, b) {
  if (a.micros !== b.micros) return a.micros - b.micros;
  if (a.id !== null && b.id !== null && a.id !== b.id) return a.id - b.id;
  return a.seq - b.seq;
}

/** Where `message` goes in `items` (sorted by compareMessages); most go at the end. */
export function insertionIndex(items, message) {
  let low = 0;
  let high = items.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (compareMessages(items[mid], message) <= 0) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** Whether `content` mentions `name` ("@name", among the `mentionNames` richtext knows). */
export function mentionsName(content, mentionNames, name) {
  const wanted = name.toLowerCase();
  return tokenize(content, { mentionNames }).some(
    (segment) => segment.type === "mention" && segment.name.toLowerCase() === wanted,
  );
}

/** Whether `message` (not yet in the list) would sort after `newest`. */
export function isAfter(message, newest) {
  if (message.micros !== newest.micros) return message.micros > newest.micros;
  if (message.id !== null && newest.id !== null) return message.id > newest.id;
  return true; // same time, no ids: new ones go last, as #insert does
}

/** What tells two messages apart when they have no id. */
export function tupleKey(message) {
  return `${message.user_id}\u0000${message.micros}\u0000${message.content}`;
}

/** Two different messages with ids are never duplicates, whatever their content. */
export function isDistinct(a, b) {
  if (a.id !== null && b.id !== null) return a.id !== b.id;
  return tupleKey(a) !== tupleKey(b);
}

/** The messages of a list, by id and by (user_id, timestamp, content), to find duplicates. */
export class MessageIndex {
  #byId = new Map();
  #byTuple = new Map();

  /** Whether `message` is already in the index. */
  has(message) {
    if (message.id !== null && this.#byId.has(message.id)) return true;
    const same = this.#byTuple.get(tupleKey(message));
    return Boolean(same) && !isDistinct(same, message);
  }

  add(message) {
    if (message.id !== null) this.#byId.set(message.id, message);
    this.#byTuple.set(tupleKey(message), message);
  }

  delete(message) {
    if (message.id !== null && this.#byId.get(message.id) === message)
      this.#byId.delete(message.id);
    const key = tupleKey(message);
    if (this.#byTuple.get(key) === message) this.#byTuple.delete(key);
  }

  clear() {
    this.#byId.clear();
    this.#byTuple.clear();
  }
}
