// Paging through a room's conversation on its /chat-history socket: the first page once
// live messages flow, older pages when the reader scrolls up, the next pages forward again
// when the bounded list has dropped the newest messages on the way up, and catching up on
// what was missed while the chat connection was down.

import { CATCH_UP_PAGE_SIZE, HISTORY_PAGE_SIZE } from "./constants.mjs";
import { normalizeMessage } from "./message-data.mjs";
import { toast } from "./toast.mjs";

const NEAR_END_PX = 200;
const MAX_CATCH_UP_ROUNDS = 50;
const MAX_CATCH_UP_ATTEMPTS = 3;
const INITIAL_LOAD_RETRIES = 5;

// Whole milliseconds for history cursors. The server compares "strictly older/newer" with
// microsecond timestamps, so we round towards the shown message and let de-duplication drop
// it (and any same-millisecond neighbours) instead of skipping messages. When the message
// has an id we also send before_id/after_id, which a server may use as the exact boundary.
const msCeil = (message) => Math.ceil(message.micros / 1000);
const msFloor = (message) => Math.floor(message.micros / 1000);

export class ConversationPager {
  #history;
  #list;
  #scroller;
  #start;
  #loading;
  #closed = false;
  #initialState = "pending"; // "pending" | "loading" | "done"
  #catchUpAfterInitial = false;
  #initialFailures = 0;
  #loadingOlder = false;
  #loadingNewer = false;
  #reachedBeginning = false;
  #olderStrict = false; // step strictly past a millisecond full of duplicates
  #newerStrict = false;
  #epoch = 0; // bumped when the list starts over: replies for an older list are dropped
  #onChanged;

  /**
   * @param {object} parts
   *   history (HistoryClient), list (MessageList), scroller (the list's scrolling element),
   *   start (the "beginning of the conversation" marker), loading (the "loading" line),
   *   onChanged({initial}) optional: after each page was added (initial: the first page)
   */
  constructor({ history, list, scroller, start, loading, onChanged = null }) {
    this.#onChanged = onChanged;
    this.#history = history;
    this.#list = list;
    this.#scroller = scroller;
    this.#start = start;
    this.#loading = loading;
  }

  /** Whether the first page has been shown. */
  get ready() {
    return this.#initialState === "done";
  }

  /** Stop: replies that arrive later are dropped. */
  close() {
    this.#closed = true;
  }

  /** Call each time the chat socket opens: load the first page, or catch up after a drop. */
  opened(reconnected) {
    if (this.#initialState === "pending") {
      // Load the first page only once live messages flow, so nothing falls in between.
      this.#loadInitial();
    } else if (this.#initialState === "loading") {
      this.#catchUpAfterInitial = true;
    } else if (reconnected && !this.#list.hasGapAfter) {
      // (During a gap, paging forward fetches what was missed.)
      this.#catchUp(this.#list.newest());
    }
  }

  async #loadInitial() {
    this.#initialState = "loading";
    const epoch = this.#epoch;
    try {
      // A minute ahead of our clock, in case it runs behind the server's.
      const page = await this.#history.fetch({
        timestamp: Date.now() + 60_000,
        chunk_size: HISTORY_PAGE_SIZE,
        newer: false,
      });
      if (this.#stale(epoch)) return;
      this.#list.add(page, { position: "initial" });
      if (page.length < HISTORY_PAGE_SIZE) this.#markBeginning();
      this.#initialState = "done";
      this.#onChanged?.({ initial: true });
    } catch (error) {
      if (this.#stale(epoch)) return;
      this.#initialState = "pending";
      this.#initialFailures += 1;
      console.warn("loading the conversation failed", error);
      if (
        this.#initialFailures <= INITIAL_LOAD_RETRIES &&
        this.#history.socket.state !== "failed"
      ) {
        setTimeout(() => !this.#stale(epoch) && this.#loadInitial(), 1000 * this.#initialFailures);
      } else {
        toast("Could not load earlier messages.", {
          kind: "error",
          key: "history-failed",
        });
      }
      return;
    }
    if (this.#catchUpAfterInitial) {
      this.#catchUpAfterInitial = false;
      this.#catchUp(this.#list.newest());
    }
    this.#keepFilling();
  }

  /** Whether the room was closed, or the list started over, since `epoch`. */
  #stale(epoch) {
    return this.#closed || epoch !== this.#epoch;
  }

  /** Load the page before the oldest message shown (the reader scrolled up). */
  async loadOlder() {
    if (this.#closed || this.#loadingOlder || this.#reachedBeginning) return;
    if (this.#initialState !== "done") return;
    const oldest = this.#list.oldest();
    if (!oldest) return;

    const epoch = this.#epoch;
    this.#loadingOlder = true;
    this.#loading.hidden = false;
    let progressed = false;
    try {
      const request = {
        timestamp: this.#olderStrict ? oldest.ms : msCeil(oldest),
        chunk_size: HISTORY_PAGE_SIZE,
        newer: false,
      };
      if (oldest.id !== null) request.before_id = oldest.id;
      const page = await this.#history.fetch(request);
      if (this.#stale(epoch)) return;
      const added = this.#list.add(page, { position: "older" });
      this.#onChanged?.({ initial: false });
      if (page.length < HISTORY_PAGE_SIZE) {
        this.#markBeginning();
      } else {
        progressed = added > 0 || !this.#olderStrict;
        this.#olderStrict = added === 0;
      }
    } catch (error) {
      if (!this.#closed) console.warn("loading older messages failed", error);
    } finally {
      if (!this.#stale(epoch)) {
        this.#loadingOlder = false;
        this.#loading.hidden = true;
      }
    }
    if (progressed) this.#keepFilling();
  }

  /** Keep loading older pages while the reader is (still) near the top. */
  #keepFilling() {
    if (!this.#reachedBeginning && this.#scroller.scrollTop < NEAR_END_PX) this.loadOlder();
  }

  /**
   * Load the page after the newest message shown, when the list dropped the newest ones on
   * the way up and the reader comes back down. A short page means we are back at the live
   * end: the list then shows the live messages it held meanwhile.
   */
  async loadNewer() {
    if (this.#closed || this.#loadingNewer || this.#initialState !== "done") return;
    const newest = this.#list.newest();
    if (!newest || !this.#list.hasGapAfter) return;

    const epoch = this.#epoch;
    this.#loadingNewer = true;
    let progressed = false;
    try {
      const request = {
        timestamp: this.#newerStrict ? msFloor(newest) + 1 : msFloor(newest),
        chunk_size: HISTORY_PAGE_SIZE,
        newer: true,
      };
      if (newest.id !== null) request.after_id = newest.id;
      const page = await this.#history.fetch(request);
      if (this.#stale(epoch)) return;
      const added = this.#list.add(page, { position: "forward" });
      this.#onChanged?.({ initial: false });
      if (page.length < HISTORY_PAGE_SIZE) {
        this.#newerStrict = false;
        this.#list.attach();
        this.#onChanged?.({ initial: false });
      } else {
        progressed = added > 0 || !this.#newerStrict;
        this.#newerStrict = added === 0;
      }
    } catch (error) {
      if (!this.#closed) console.warn("loading newer messages failed", error);
    } finally {
      if (!this.#stale(epoch)) this.#loadingNewer = false;
    }
    // Still near the bottom (a fast scroll): the next page.
    if (progressed && this.#list.hasGapAfter && this.#nearBottom()) this.loadNewer();
  }

  #nearBottom() {
    const s = this.#scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_END_PX;
  }

  /** Start over from the latest messages (the pill, or an own message during a gap). */
  jumpToLatest() {
    if (this.#closed || this.#initialState !== "done") return;
    this.#epoch += 1;
    this.#list.reset();
    this.#loadingOlder = false;
    this.#loadingNewer = false;
    this.#olderStrict = false;
    this.#newerStrict = false;
    this.unmarkBeginning();
    this.#loading.hidden = true;
    this.#loadInitial();
  }

  /** Fetch everything newer than `cursor` (the newest message shown before the drop). */
  async #catchUp(cursor, attempt = 1) {
    const epoch = this.#epoch;
    let timestamp = cursor ? msFloor(cursor) : 0;
    let afterId = cursor?.id ?? null;
    try {
      for (let round = 0; round < MAX_CATCH_UP_ROUNDS; round += 1) {
        const request = {
          timestamp,
          chunk_size: CATCH_UP_PAGE_SIZE,
          newer: true,
        };
        if (afterId !== null) request.after_id = afterId;
        const page = await this.#history.fetch(request);
        if (this.#stale(epoch)) return;
        const added = this.#list.add(page, { position: "newer" });
        this.#onChanged?.({ initial: false });
        if (page.length < CATCH_UP_PAGE_SIZE) return;
        // The list dropped the newest to keep its bound: paging forward takes over.
        if (this.#list.hasGapAfter) return;
        const last = normalizeMessage(page.at(-1));
        if (!last) return;
        const next = msFloor(last);
        timestamp = added === 0 && next === timestamp ? next + 1 : next;
        afterId = last.id;
      }
    } catch (error) {
      if (this.#stale(epoch)) return;
      console.warn("catching up after the reconnect failed", error);
      // Starting again from the same cursor is safe: duplicates are dropped.
      if (attempt < MAX_CATCH_UP_ATTEMPTS) {
        setTimeout(() => !this.#stale(epoch) && this.#catchUp(cursor, attempt + 1), 2000 * attempt);
      }
    }
  }

  #markBeginning() {
    if (this.#reachedBeginning) return;
    this.#reachedBeginning = true;
    // The marker goes above what the reader sees: keep their position, as for messages.
    const scroller = this.#scroller;
    const start = this.#start;
    const heightBefore = scroller.scrollHeight;
    start.hidden = false;
    scroller.scrollTop += scroller.scrollHeight - heightBefore;
  }

  /** The oldest messages were dropped (or the list starts over): page them in again. */
  unmarkBeginning() {
    this.#reachedBeginning = false;
    this.#olderStrict = false;
    this.#start.hidden = true;
  }
}
