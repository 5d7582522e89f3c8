// Client-to-client events over a room's /client-sync socket. The server relays every text
// frame byte-for-byte to every client in the room (the sender included) and knows nothing
// about the content, so the clients agree on this small protocol:
//
//   Every event is a JSON object {"v": 1, "type": <string>, "from": <sender's user_id>, …}.
//
//   {"v":1, "type":"status-request", "from":A}
//       "I just connected: tell me your status." A sends it once its /member-status and
//       /client-sync sockets are both open, right after sending its own status again
//       (members who connected while A's sockets were still opening missed both). Every
//       other client re-sends its current status on the room's /member-status socket
//       (after a short random delay, so that answers from a big room do not all arrive at
//       once). A client that has a direct-
//       message conversation with A also answers with dm-open, so A reconnects its side.
//
//   {"v":1, "type":"dm-open", "from":A, "to":B}
//       A opened a direct-message connection to B. B's client opens its own direct-message
//       socket to A in the background, because the server delivers a DM only to the
//       sockets the two users hold open *to each other*.
//
//   {"v":1, "type":"dm-notify", "from":A, "to":B}
//       A just sent B a direct message. If B does not have that conversation open, B's
//       client shows an unread badge on A and a notification. The message itself never
//       travels here: every member of the room receives client-sync frames.
//
// Receivers ignore: frames that are not JSON objects, other versions, unknown types, events
// with missing or mistyped fields, events from themselves, and dm-* events addressed to
// someone else. The server's own {"error": …} frames (e.g. rate limit) are logged only.

import { pathSegment } from "./api.mjs";
import { ReconnectingSocket, isErrorFrame } from "./socket.mjs";

export const SYNC_VERSION = 1;
const TYPES_WITH_TARGET = new Set(["dm-open", "dm-notify"]);
const TYPES = new Set(["status-request", ...TYPES_WITH_TARGET]);

/**
 * Check an incoming frame; returns the event for us to act on, or null to ignore it.
 * Exported for tests.
 */
export function parseSyncEvent(data, myId) {
  if (!data || typeof data !== "object" || Array.isArray(data)) return null;
  if (data.v !== SYNC_VERSION || !TYPES.has(data.type)) return null;
  if (!Number.isInteger(data.from) || data.from === myId) return null;
  if (TYPES_WITH_TARGET.has(data.type)) {
    if (data.to !== myId) return null;
    return { type: data.type, from: data.from, to: data.to };
  }
  return { type: data.type, from: data.from };
}

export class SyncChannel {
  #myId;
  #socket;
  #handlers;

  /**
   * @param {object} options
   *   roomHash, session, monitor, onGiveUp
   *   handlers  {"status-request": fn(event), "dm-open": fn(event), "dm-notify": fn(event)}
   *   onOpen()  each time the socket (re)connects
   */
  constructor({ roomHash, session, monitor, onGiveUp, handlers, onOpen }) {
    this.#myId = session.user_id;
    this.#handlers = handlers;
    this.#socket = new ReconnectingSocket(`/room/${pathSegment(roomHash)}/client-sync`, {
      name: "client sync",
      bearer: () => session.user_token,
      // Other clients can put anything on this socket, so error-looking frames are not
      // trusted as server errors (no toasts that anyone in the room could trigger).
      errorFrames: false,
      onOpen: () => onOpen?.(),
      onMessage: (data) => this.#receive(data),
      onGiveUp,
    });
    monitor?.track(this.#socket);
  }

  get isOpen() {
    return this.#socket.isOpen;
  }

  start() {
    this.#socket.start();
  }

  close() {
    this.#socket.close();
  }

  /** Send an event; `fields` are added to {v, type, from}. Returns false when offline. */
  send(type, fields = {}) {
    return this.#socket.send({
      v: SYNC_VERSION,
      type,
      from: this.#myId,
      ...fields,
    });
  }

  #receive(data) {
    if (isErrorFrame(data)) {
      console.warn(`client sync: ${String(data.error)}`);
      return;
    }
    const event = parseSyncEvent(data, this.#myId);
    if (event) this.#handlers[event.type]?.(event);
  }
}
