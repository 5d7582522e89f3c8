// Requests to a room's /chat-history socket. The server answers each request with one JSON
// array, to this client only, in order, without a request id. So we keep exactly one request
// in flight, and the next array that arrives is its reply. If a reply does not come in time,
// the socket is replaced, so that a late reply can never be taken for the next request's.
//
// Request: {"timestamp": ms, "chunk_size": 1-100, "newer": bool,
//           optional "before_id" / "after_id": tie-break cursors (ignored by servers that
//           do not know them)}
// Reply:   newer=false → newest first, strictly older than timestamp
//          newer=true  → oldest first, strictly newer than timestamp

import { ReconnectingSocket } from "./socket.mjs";
import { pathSegment } from "./api.mjs";

const REPLY_TIMEOUT_MS = 15_000;

export class HistoryClient {
  #socket;
  #pending = null; // {resolve, reject, timer} of the request in flight
  #queue = Promise.resolve(); // chains requests so that only one is in flight

  constructor(roomHash, { bearer, monitor, onGiveUp, onErrorFrame } = {}) {
    this.#socket = new ReconnectingSocket(`/room/${pathSegment(roomHash)}/chat-history`, {
      name: "chat history",
      bearer,
      onMessage: (data) => this.#receive(data),
      onErrorFrame: (reason) => {
        // An error frame answers the request in flight (e.g. rate limit, bad chunk size).
        if (this.#pending) this.#settle(new Error(reason));
        else onErrorFrame?.(reason);
      },
      onGiveUp,
    });
    this.#socket.onStateChange((state) => {
      // A reply cannot arrive on a connection that is gone.
      if (state !== "open" && this.#pending) this.#settle(new Error("history connection lost"));
    });
    monitor?.track(this.#socket);
  }

  get socket() {
    return this.#socket;
  }

  start() {
    this.#socket.start();
  }

  close() {
    this.#socket.close();
    if (this.#pending) this.#settle(new Error("closed"));
  }

  /** Ask for one page; resolves to the array of (unchecked) message objects. */
  fetch(request) {
    const run = () => this.#request(request);
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => {});
    return result;
  }

  async #request(request) {
    await this.#socket.whenOpen(REPLY_TIMEOUT_MS);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#settle(new Error("the history request timed out"));
        this.#socket.reconnectNow();
      }, REPLY_TIMEOUT_MS);
      this.#pending = { resolve, reject, timer };
      if (!this.#socket.send(request)) this.#settle(new Error("history connection lost"));
    });
  }

  #receive(data) {
    if (!this.#pending) return; // a reply nobody waits for any more
    if (!Array.isArray(data)) {
      this.#settle(new Error("unexpected history reply"));
      return;
    }
    this.#settle(null, data);
  }

  #settle(error, value) {
    const pending = this.#pending;
    if (!pending) return;
    this.#pending = null;
    clearTimeout(pending.timer);
    if (error) pending.reject(error);
    else pending.resolve(value);
  }
}
