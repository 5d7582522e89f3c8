// A WebSocket that reconnects by itself, with jittered exponential backoff (0.5 s doubling
// up to 10 s).
//
// Each ReconnectingSocket owns at most one live WebSocket. Before it opens a new one it
// detaches every handler from the old one, so reconnecting many times never piles up
// handlers or duplicate connections.
//
// Browsers cannot set headers on a WebSocket, so credentials travel as subprotocols:
//   new WebSocket(url, ["chat.v1", "csrf<csrf token>", "Bearer<user token>"])
// and the server selects "chat.v1".
//
// States (`socket.state`):
//   "idle"          created, start() not called yet
//   "connecting"    first connection attempt
//   "open"          connected
//   "reconnecting"  lost (or never got) the connection and trying again
//   "failed"        gave up: the handshake kept being refused although the server answers
//                   HTTP (bad credentials, not a member, unknown room…), or the server
//                   closed it with a final code (FINAL_CLOSE_CODES); retry() starts over
//   "closed"        closed on purpose with close(); final
//
// A refused handshake and a server that is down look the same to a browser (the socket
// closes before it opens). So after a few failed handshakes in a row we ask the server over
// HTTP whether it is up: if it is, the socket is being refused and we stop after one last try;
// if it is not, we keep retrying until it comes back.

import { SUBPROTOCOL } from "./constants.mjs";
import { serverReachable, socketUrl } from "./api.mjs";
import { csrfToken } from "./session.mjs";

const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 10_000;
const FAILED_HANDSHAKES_BEFORE_PROBE = 3;
const NORMAL_CLOSURE = 1000;
/**
 * Close codes after which reconnecting cannot help (docs/protocol.md, "Close codes"): the
 * session ended (4001), the user left or was removed from the room (4003), the room was
 * deleted (4004). The socket gives up at once: onGiveUp gets the reason and the code, and `onEnded`
 * listeners hear of it too.
 */
export const SESSION_ENDED_CODE = 4001;
export const FINAL_CLOSE_CODES = new Map([
  [SESSION_ENDED_CODE, "signed out"],
  [4003, "removed from the room"],
  [4004, "room deleted"],
]);

const endedListeners = new Set();

/** Call `listener(code, reason)` whenever any socket is closed with a final code. */
export function onEnded(listener) {
  endedListeners.add(listener);
  return () => endedListeners.delete(listener);
}

/** Delay before reconnect attempt number `attempt` (0, 1, 2…): half fixed, half random. */
export function backoffDelay(attempt, min = MIN_DELAY_MS, max = MAX_DELAY_MS) {
  const ceiling = Math.min(max, min * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/** True for the server's error frames: {"error": "<reason>"}. */
export function isErrorFrame(data) {
  return (
    data !== null &&
    typeof data === "object" &&
    !Array.isArray(data) &&
    Object.hasOwn(data, "error")
  );
}

export class ReconnectingSocket {
  #path;
  #name;
  #bearer;
  #errorFrames;
  #handlers;
  #ws = null;
  #state = "idle";
  #epoch = 0; // bumped whenever a pending timer or probe becomes stale
  #attempt = 0;
  #failedHandshakes = 0;
  #refusalSuspected = false;
  #everOpened = false;
  #timer = null;
  #stateListeners = new Set();
  #openWaiters = new Set();

  /**
   * @param {string} path  socket path under /chat/api/v1, e.g. "/room/abc/chat-message"
   * @param {object} options
   *   name          label for logs and messages
   *   bearer        function returning the user token (authenticated sockets), or null
   *   errorFrames   treat {"error": …} frames as errors (default true); false passes every
   *                 JSON frame to onMessage (client-sync relays arbitrary frames)
   *   onOpen({reconnected})  after every successful handshake
   *   onMessage(data)        each JSON frame
   *   onErrorFrame(reason)   each error frame
   *   onGiveUp(reason, {code})  when the state becomes "failed"; `code` is the server's
   *                          close code when it ended the socket for good, else null
   */
  constructor(path, { name = path, bearer = null, errorFrames = true, ...handlers } = {}) {
    this.#path = path;
    this.#name = name;
    this.#bearer = bearer;
    this.#errorFrames = errorFrames;
    this.#handlers = handlers;
  }

  get state() {
    return this.#state;
  }

  get name() {
    return this.#name;
  }

  get isOpen() {
    return this.#state === "open";
  }

  /** Listen to state changes; returns a function that stops listening. */
  onStateChange(listener) {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  /** Open the connection (once). */
  start() {
    if (this.#state === "idle") this.#connect();
  }

  /** Send a JSON frame. Returns false (and sends nothing) when not connected. */
  send(data) {
    const ws = this.#ws;
    if (this.#state !== "open" || !ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(data));
    return true;
  }

  /** Resolves when the socket is open; rejects on timeout, close() or giving up. */
  whenOpen(timeoutMs = 15_000) {
    if (this.#state === "open") return Promise.resolve();
    if (this.#state === "closed" || this.#state === "failed") {
      return Promise.reject(new Error(`${this.#name} is not connected`));
    }
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject, timer: null };
      waiter.timer = setTimeout(() => {
        this.#openWaiters.delete(waiter);
        reject(new Error(`${this.#name}: timed out waiting for the connection`));
      }, timeoutMs);
      this.#openWaiters.add(waiter);
    });
  }

  /** Try again right away (after giving up, or to skip the current backoff wait). */
  retry() {
    if (this.#state === "closed" || this.#state === "open" || this.#state === "idle") return;
    this.#attempt = 0;
    this.#failedHandshakes = 0;
    this.#refusalSuspected = false;
    this.#connect();
  }

  /** Drop the current connection and open a fresh one (e.g. after a reply never came). */
  reconnectNow() {
    if (this.#state === "closed") return;
    this.#attempt = 0;
    this.#connect();
  }

  /** Close for good: no reconnect, handlers detached, waiters rejected. */
  close() {
    if (this.#state === "closed") return;
    this.#epoch += 1;
    this.#clearTimer();
    this.#detach();
    this.#rejectWaiters(new Error(`${this.#name} was closed`));
    this.#setState("closed");
    this.#stateListeners.clear();
  }

  #connect() {
    this.#epoch += 1;
    this.#clearTimer();
    this.#detach();

    const protocols = [SUBPROTOCOL, `csrf${csrfToken()}`];
    if (this.#bearer) {
      const token = this.#bearer();
      if (!token) {
        this.#giveUp("not logged in");
        return;
      }
      protocols.push(`Bearer${token}`);
    }

    const recovering = this.#everOpened || this.#failedHandshakes > 0;
    this.#setState(recovering ? "reconnecting" : "connecting");

    let ws;
    try {
      ws = new WebSocket(socketUrl(this.#path), protocols);
    } catch (error) {
      // Only for a malformed URL or a token with characters a subprotocol cannot carry.
      console.warn(`${this.#name}: cannot open the socket`, error);
      this.#giveUp("bad credentials");
      return;
    }

    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.#opened();
    };
    ws.onmessage = (event) => this.#receive(event.data);
    ws.onerror = null; // an error is always followed by a close event, handled below
    ws.onclose = (event) => this.#lost(ws, opened, event);
    this.#ws = ws;
  }

  #opened() {
    const reconnected = this.#everOpened;
    this.#everOpened = true;
    this.#attempt = 0;
    this.#failedHandshakes = 0;
    this.#refusalSuspected = false;
    this.#setState("open");
    for (const waiter of this.#openWaiters) {
      clearTimeout(waiter.timer);
      waiter.resolve();
    }
    this.#openWaiters.clear();
    this.#handlers.onOpen?.({ reconnected });
  }

  #receive(raw) {
    if (typeof raw !== "string") return; // the API only sends text frames
    let data;
    try {
      data = JSON.parse(raw);
    } catch {
      console.warn(`${this.#name}: ignored a frame that is not JSON`);
      return;
    }
    if (this.#errorFrames && isErrorFrame(data)) {
      const reason = String(data.error);
      if (this.#handlers.onErrorFrame) this.#handlers.onErrorFrame(reason);
      else console.warn(`${this.#name}: server error frame: ${reason}`);
      return;
    }
    this.#handlers.onMessage?.(data);
  }

  #lost(ws, opened, event) {
    if (ws !== this.#ws) return;
    this.#detach();
    if (this.#state === "closed" || this.#state === "failed") return;
    if (opened && FINAL_CLOSE_CODES.has(event.code)) {
      const reason = event.reason || FINAL_CLOSE_CODES.get(event.code);
      this.#giveUp(reason, event.code);
      for (const listener of [...endedListeners]) listener(event.code, reason);
      return;
    }
    if (opened) {
      console.info(`${this.#name}: connection lost (code ${event.code}), reconnecting`);
    } else {
      this.#failedHandshakes += 1;
    }
    this.#scheduleReconnect();
  }

  async #scheduleReconnect() {
    this.#setState("reconnecting");
    const epoch = ++this.#epoch;

    if (this.#failedHandshakes >= FAILED_HANDSHAKES_BEFORE_PROBE) {
      const reachable = await serverReachable();
      if (epoch !== this.#epoch) return; // closed or retried meanwhile
      if (reachable) {
        if (this.#refusalSuspected) {
          this.#giveUp("refused");
          return;
        }
        // The server just answered: one last quick try in case it has only now come back.
        this.#refusalSuspected = true;
        this.#timer = setTimeout(() => this.#connect(), 250);
        return;
      }
    }

    const delay = backoffDelay(this.#attempt);
    this.#attempt += 1;
    this.#timer = setTimeout(() => this.#connect(), delay);
  }

  #giveUp(reason, code = null) {
    this.#epoch += 1;
    this.#clearTimer();
    this.#detach();
    this.#rejectWaiters(new Error(`${this.#name}: ${reason}`));
    this.#setState("failed");
    console.warn(`${this.#name}: gave up (${reason})`);
    this.#handlers.onGiveUp?.(reason, { code });
  }

  /** Forget the current WebSocket: detach its handlers first, then close it. */
  #detach() {
    const ws = this.#ws;
    if (!ws) return;
    this.#ws = null;
    ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
    if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) {
      try {
        ws.close(NORMAL_CLOSURE);
      } catch {
        // Already closing; nothing else to do.
      }
    }
  }

  #clearTimer() {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #rejectWaiters(error) {
    for (const waiter of this.#openWaiters) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    this.#openWaiters.clear();
  }

  #setState(state) {
    if (state === this.#state) return;
    this.#state = state;
    for (const listener of [...this.#stateListeners]) listener(state, this);
  }
}
