// Unread and mention counts per room, from the server (GET /user/rooms/unread), kept live
// across the user's tabs and devices by the per-user events socket (/user/events):
//   {"type": "read", room_hash, last_read_id}   another tab (or this one) read a room
//                                               → fetch the counts again (rare: debounced PUTs)
//   {"type": "message", room_hash, id, user_id, mentions}
//                                               → count it here, no request (one event per
//                                                 message; fetching on each would cost every
//                                                 member a request per message)
//   {"type": "mentions-changed", room_hash, id}  an edit changed whom a message mentions
//                                               → fetch the counts again (debounced)
// Counts are fetched again whenever the socket (re)opens, so a missed event never lasts.
// The socket hears the rooms joined when it opened: setRooms() reopens it when they change.
// markRead() advances the read position (PUT /room/<hash>/read), debounced; the answer
// carries the room's exact counts.

import * as api from "./api.mjs";
import { ReconnectingSocket } from "./socket.mjs";

/** The server stops counting here; shown as "99+". */
export const COUNT_CAP = 100;
const READ_DELAY_MS = 300;
const REFETCH_DELAY_MS = 100;

/** The badge text of a count: "" for none, "99+" from 100 on. */
export function countLabel(count) {
  if (!Number.isInteger(count) || count <= 0) return "";
  return count > 99 ? "99+" : String(count);
}

/**
 * A room's counts after a "message" event (pure): unchanged for our own messages, for
 * messages at or before the read position, and for those the counts already include
 * (at or before `newest_id`, the room's newest message when the server counted).
 */
export function countMessage(counts, event, myId) {
  if (!counts || event.user_id === myId || !(event.id > counts.last_read_id)) return counts;
  if (event.id <= counts.newest_id) return counts;
  const mentioned = Array.isArray(event.mentions) && event.mentions.includes(myId);
  return {
    ...counts,
    unread: Math.min(COUNT_CAP, counts.unread + 1),
    mentions: Math.min(COUNT_CAP, counts.mentions + (mentioned ? 1 : 0)),
  };
}

/**
 * The valid rows of GET /user/rooms/unread as a Map
 * room_hash → {unread, mentions, last_read_id, newest_id} (newest_id 0 when not given).
 */
export function countsFrom(rows) {
  const counts = new Map();
  for (const row of Array.isArray(rows) ? rows : []) {
    if (!row || typeof row.room_hash !== "string") continue;
    const { unread, mentions, last_read_id: lastRead } = row;
    if (![unread, mentions, lastRead].every(Number.isInteger)) continue;
    const newest = Number.isInteger(row.newest_id) ? row.newest_id : 0;
    counts.set(row.room_hash, { unread, mentions, last_read_id: lastRead, newest_id: newest });
  }
  return counts;
}

export class UnreadCounts {
  #session;
  #onChange;
  #counts = new Map();
  #socket = null;
  #rooms = null;
  #refetchTimer = null;
  #reads = new Map(); // room_hash → {messageId, timer}
  #closed = false;
  #fetching = null; // the refresh under way (a Promise), or null
  #stale = false; // a "read" arrived during that refresh: fetch again when it ends
  #heard = null; // the "message" events heard during the fetch under way (else null)

  /**
   * @param {object} options
   *   session               {user_id, user_token}
   *   onChange(counts)      the Map room_hash → {unread, mentions, last_read_id} changed
   */
  constructor({ session, onChange }) {
    this.#session = session;
    this.#onChange = onChange;
  }

  /** The counts of a room, or null before they are known. */
  get(roomHash) {
    return this.#counts.get(roomHash) ?? null;
  }

  /** The joined rooms changed (or are first known): (re)open the events socket. */
  setRooms(roomHashes) {
    if (this.#closed) return;
    const key = [...roomHashes].sort().join(" ");
    if (key === this.#rooms) return;
    this.#rooms = key;
    this.#socket?.close();
    this.#socket = new ReconnectingSocket("/user/events", {
      name: "events",
      bearer: () => this.#session.user_token,
      onOpen: () => this.refresh(),
      onMessage: (event) => this.receive(event),
    });
    this.#socket.start();
  }

  /**
   * Fetch every room's counts from the server. A "message" event that arrives while a fetch
   * is under way may or may not be in its answer: it is counted again on top of the answer
   * unless the answer's `newest_id` says it is included. A "read" during a fetch (whose
   * answer may predate it) makes it fetch once more.
   */
  refresh() {
    if (this.#fetching) {
      this.#stale = true;
      return this.#fetching;
    }
    this.#fetching = this.#fetchUntilFresh().finally(() => {
      this.#fetching = null;
    });
    return this.#fetching;
  }

  async #fetchUntilFresh() {
    do {
      this.#stale = false;
      this.#heard = [];
      try {
        const rows = await api.unreadCounts();
        if (this.#closed) return;
        this.#counts = countsFrom(rows);
        for (const event of this.#heard) this.#count(event);
        // A read we are about to send stays applied until the server has it.
        for (const [roomHash, { messageId }] of this.#reads) this.#optimistic(roomHash, messageId);
        this.#changed();
      } catch (error) {
        if (!this.#closed && error.status !== 401)
          console.warn("loading unread counts failed", error);
        return;
      } finally {
        this.#heard = null;
      }
    } while (this.#stale && !this.#closed);
  }

  /** The reader has seen the room up to `messageId`: move the read position there (debounced). */
  markRead(roomHash, messageId) {
    if (this.#closed || !Number.isInteger(messageId)) return;
    const known = this.#counts.get(roomHash);
    const pending = this.#reads.get(roomHash);
    if (known && messageId <= known.last_read_id && !pending) return;
    if (pending && messageId <= pending.messageId) return;
    clearTimeout(pending?.timer);
    const timer = setTimeout(() => this.#sendRead(roomHash, messageId), READ_DELAY_MS);
    this.#reads.set(roomHash, { messageId, timer });
    this.#optimistic(roomHash, messageId);
  }

  /** Drop a read position not yet sent for `roomHash` (we are no longer in that room). */
  forget(roomHash) {
    clearTimeout(this.#reads.get(roomHash)?.timer);
    this.#reads.delete(roomHash);
  }

  close() {
    this.#closed = true;
    this.#socket?.close();
    clearTimeout(this.#refetchTimer);
    for (const { timer } of this.#reads.values()) clearTimeout(timer);
    this.#reads.clear();
  }

  async #sendRead(roomHash, messageId) {
    try {
      const row = await api.markRead(roomHash, messageId);
      if (this.#closed) return;
      if (this.#reads.get(roomHash)?.messageId === messageId) this.#reads.delete(roomHash);
      const [counts] = countsFrom([row]).values();
      if (counts && !this.#reads.has(roomHash)) {
        this.#counts.set(roomHash, counts);
        this.#changed();
      }
    } catch (error) {
      if (this.#reads.get(roomHash)?.messageId === messageId) this.#reads.delete(roomHash);
      if (!this.#closed && error.status !== 401)
        console.warn("marking the room read failed", error);
    }
  }

  /** Show a read position before the server confirmed it (messages after it still count). */
  #optimistic(roomHash, messageId) {
    const counts = this.#counts.get(roomHash);
    if (!counts || messageId <= counts.last_read_id) return;
    this.#counts.set(roomHash, { ...counts, last_read_id: messageId });
  }

  /** An event of the /user/events socket (see the top of this file). */
  receive(event) {
    if (!event || typeof event.room_hash !== "string") return;
    if (event.type === "read" || event.type === "mentions-changed") {
      clearTimeout(this.#refetchTimer);
      this.#refetchTimer = setTimeout(() => this.refresh(), REFETCH_DELAY_MS);
    } else if (event.type === "message" && Number.isInteger(event.id)) {
      this.#heard?.push(event);
      if (this.#count(event)) this.#changed();
    }
  }

  /** Count a "message" event into its room's counts; returns whether they changed. */
  #count(event) {
    const before = this.#counts.get(event.room_hash);
    const after = countMessage(before, event, this.#session.user_id);
    if (after === before) return false;
    this.#counts.set(event.room_hash, after);
    return true;
  }

  #changed() {
    this.#onChange?.(new Map(this.#counts));
  }
}
