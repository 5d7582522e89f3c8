// A rendered list of chat messages, used for the room chat and for direct messages. It
// keeps the list in time order and drops duplicates (message-data.mjs), draws each message
// and the day separators (message-node.mjs, laid out by timeline.mjs), and manages
// scrolling: it follows new messages only when the reader is already at the bottom,
// otherwise counts them on the "new messages" pill; when messages are added or removed
// elsewhere, it keeps what the reader is looking at in place. Mentions (richtext.mjs,
// mentions.mjs) of the room's members are drawn as such; someone else's message that
// mentions the reader (`myName`) is highlighted: an accent bar, and "mentions you" for
// screen readers.
//
// Bounded (`maxMessages`): the list keeps at most that many messages. Past it, it drops
// messages from the end away from the reader: the newest while they read back through the
// history (then there is a gap after the newest shown: live messages are held back and
// counted on the pill, `onNearBottom` asks for the next page, `attach()` closes the gap),
// the oldest while they follow the conversation (`onTrimmed("older")`, so the history can
// be paged in again).

import { SYSTEM_USER_NAME } from "./constants.mjs";
import { restoreScrollAnchor, scrollAnchor } from "./dom.mjs";
import {
  MessageIndex,
  insertionIndex,
  isAfter,
  isDistinct,
  mentionsName,
  normalizeMessage,
} from "./message-data.mjs";
import { bindCodeCopy, layOutDays, messageNode } from "./message-node.mjs";
import { mentionCandidates } from "./mentions.mjs";
import { atEveryNewDay, showPill, trimSide } from "./message-list-parts.mjs";

/** Live messages held back at most while the newest ones are not shown (the newest win). */
const MAX_HELD = 100;
/** How close to either end (CSS pixels) the reader must scroll to load more. */
const NEAR_END_PX = 200;

export class MessageList {
  #scroller;
  #list;
  #pill;
  #empty;
  #myId;
  #myName;
  #mentionNames = [];
  #maxMessages;
  #onNearTop;
  #onNearBottom;
  #onJumpToLatest;
  #onTrimmed;
  #decorate;
  // Normalized messages in display order, each with its DOM `node`, its day `separator`
  // (a node or null) and whether it is `continued` (grouped under the previous header).
  #items = [];
  #index = new MessageIndex();
  #seq = 0;
  #unseen = 0;
  #gapAfter = false; // newer messages exist that are not in the list (dropped by the bound)
  #held = []; // live messages that arrived during the gap, oldest first
  #abort = new AbortController();

  /**
   * @param {object} parts
   *   scroller        the scrolling element
   *   list            the <ol> that holds the messages
   *   myId            the logged-in user's id (own messages look different)
   *   myName          optional: the user's name, to highlight messages that mention them
   *                   (mentions of others need setMentionNames)
   *   pill            optional "new messages" button
   *   empty           optional element shown while there are no messages
   *   maxMessages     optional bound on the messages kept (default: no bound)
   *   onNearTop       optional callback when the reader scrolls near the top (load older)
   *   onNearBottom    optional callback when the reader scrolls near the bottom while
   *                   newer messages are missing (load the next page, then attach())
   *   onJumpToLatest  optional callback to show the latest messages again after a gap
   *                   (the pill, or an own message sent during the gap)
   *   onTrimmed       optional callback("older") after the oldest messages were dropped
   *   decorate        optional callback(node, message, own) for each message drawn (its
   *                   actions, e.g. Delete: message-actions.mjs)
   */
  constructor({
    scroller,
    list,
    myId,
    myName = "",
    pill = null,
    empty = null,
    maxMessages = Infinity,
    onNearTop = null,
    onNearBottom = null,
    onJumpToLatest = null,
    onTrimmed = null,
    decorate = null,
  }) {
    this.#scroller = scroller;
    this.#list = list;
    this.#myId = myId;
    this.#myName = myName;
    this.#mentionNames = mentionCandidates(myName ? [myName] : []);
    this.#pill = pill;
    this.#empty = empty;
    this.#maxMessages = maxMessages;
    this.#onNearTop = onNearTop;
    this.#onNearBottom = onNearBottom;
    this.#onJumpToLatest = onJumpToLatest;
    this.#onTrimmed = onTrimmed;
    this.#decorate = decorate;
    const { signal } = this.#abort;
    scroller.addEventListener("scroll", () => this.#scrolled(), {
      passive: true,
      signal,
    });
    pill?.addEventListener("click", () => this.scrollToBottom(), { signal });
    bindCodeCopy(list, signal);
    // Relabel the separators at midnight ("Today" becomes "Yesterday").
    atEveryNewDay(() => {
      const anchor = scrollAnchor(this.#scroller, this.#items);
      layOutDays(this.#list, this.#items, new Date());
      restoreScrollAnchor(this.#scroller, anchor);
    }, signal);
    this.reset();
  }

  get size() {
    return this.#items.length;
  }

  /** Whether newer messages than the newest shown exist (dropped to keep the bound). */
  get hasGapAfter() {
    return this.#gapAfter;
  }

  /** The oldest / newest message shown (normalized, with `ms`, `micros`, `id`), or null. */
  oldest() {
    return this.#items[0] ?? null;
  }

  newest() {
    return this.#items.at(-1) ?? null;
  }

  /** Take the message with `id` out of the list (it was deleted); true if it was shown. */
  remove(id) {
    this.#held = this.#held.filter((message) => message.id !== id);
    const at = this.#items.findIndex((item) => item.id === id);
    if (at < 0) return false;
    const [item] = this.#items.splice(at, 1);
    item.node.remove();
    item.separator?.remove();
    this.#index.delete(item);
    layOutDays(this.#list, this.#items, new Date());
    return true;
  }

  /** Show the new text of the message with `id` (it was edited); true if it was shown. */
  update(id, { content, edited_at }) {
    const edit = (message) => Object.assign(message, { content, edited_at });
    this.#held.filter((message) => message.id === id).forEach(edit);
    const item = this.#items.find((entry) => entry.id === id);
    if (!item) return false;
    edit(item);
    // Its height may change: keep the bottom, or what the reader is looking at, in place.
    const atBottom = !this.#gapAfter && this.isAtBottom();
    const anchor = scrollAnchor(this.#scroller, this.#items);
    this.#redraw(item);
    if (atBottom) this.#scrollToEnd();
    else restoreScrollAnchor(this.#scroller, anchor);
    return true;
  }

  /** All messages in order (copies without DOM nodes). */
  messages() {
    return this.#items.map(({ node, seq, separator, continued, system, ...message }) => message);
  }

  isAtBottom(slack = 48) {
    return this.#distanceFromBottom() <= slack;
  }

  /** Scroll to the newest message (after a gap: ask for the latest messages instead). */
  scrollToBottom() {
    if (this.#gapAfter && this.#onJumpToLatest) {
      this.#onJumpToLatest();
      return;
    }
    this.#scrollToEnd();
  }

  /**
   * Add messages from the server; returns how many were new.
   * `position` says where they come from, which decides the scrolling:
   *   "initial" first page → jump to the bottom
   *   "older"   history above → keep the reading position
   *   "forward" the page right after the newest shown, while there is a gap
   *             → keep the reading position
   *   "live" / "newer" (catch-up) → follow only if at the bottom (or if it is our own)
   * During a gap, "live" and "newer" messages past the newest shown are not added: live
   * ones are held until attach() and counted on the pill.
   */
  add(rawMessages, { position = "live" } = {}) {
    const messages = [];
    for (const raw of rawMessages) {
      const message = normalizeMessage(raw);
      if (message) messages.push(message);
      else console.warn("ignored a malformed message", raw);
    }
    return this.#addMessages(messages, position);
  }

  /**
   * Close the gap after the newest shown: the caller has loaded everything up to now (a
   * short "forward" page). The held live messages are added.
   */
  attach() {
    if (!this.#gapAfter) return;
    this.#gapAfter = false;
    const held = this.#held;
    this.#held = [];
    this.#addMessages(held, "held");
    this.#updatePill();
  }

  /**
   * The room's member names, which "@name" may mention (the reader's own name always may).
   * When they change, the messages shown are drawn again, keeping the reading position.
   */
  setMentionNames(names) {
    const next = mentionCandidates([...names, ...(this.#myName ? [this.#myName] : [])]);
    if (next.join("\u0000") === this.#mentionNames.join("\u0000")) return;
    this.#mentionNames = next;
    const atBottom = !this.#gapAfter && this.isAtBottom();
    const anchor = scrollAnchor(this.#scroller, this.#items);
    for (const item of this.#items) this.#redraw(item);
    if (atBottom) this.#scrollToEnd();
    else restoreScrollAnchor(this.#scroller, anchor);
  }

  /** Whether someone else's message mentions the reader. */
  mentionsMe(message) {
    if (!this.#myName || message.user_id === this.#myId) return false;
    if (message.user_name === SYSTEM_USER_NAME) return false;
    return mentionsName(message.content, this.#mentionNames, this.#myName);
  }

  /** Remove every message. */
  reset() {
    this.#items = [];
    this.#index.clear();
    this.#list.replaceChildren();
    this.#gapAfter = false;
    this.#held = [];
    this.#unseen = 0;
    this.#updatePill();
    if (this.#empty) this.#empty.hidden = false;
  }

  /** Stop listening to the page and empty the list. */
  destroy() {
    this.#abort.abort();
    this.reset();
  }

  #addMessages(messages, position) {
    const wasAtBottom = !this.#gapAfter && this.isAtBottom();
    const before = { above: this.#scroller.scrollTop, below: this.#distanceFromBottom() };
    const anchor = scrollAnchor(this.#scroller, this.#items);

    const added = [];
    for (const message of messages) {
      if (this.#index.has(message)) continue;
      if (this.#gapAfter && (position === "live" || position === "newer")) {
        const newest = this.newest();
        if (newest && isAfter(message, newest)) {
          if (position === "live") this.#hold(message);
          continue;
        }
      }
      this.#insert(message);
      added.push(message);
    }
    if (added.length === 0) return 0;
    if (this.#empty) this.#empty.hidden = true;

    const own = added.some((m) => m.user_id === this.#myId);
    const follow =
      position === "initial" ||
      ((position === "live" || position === "newer" || position === "held") &&
        (wasAtBottom || own));
    this.#trim(trimSide(position, follow, before));
    layOutDays(this.#list, this.#items, new Date());

    if (follow) {
      this.#scrollToEnd();
    } else {
      restoreScrollAnchor(this.#scroller, anchor);
      if (position === "live" || position === "newer") {
        this.#unseen += added.length;
        this.#updatePill();
      }
    }
    return added.length;
  }

  /** Hold a live message back during a gap (the newest MAX_HELD). */
  #hold(message) {
    if (message.user_id === this.#myId && this.#onJumpToLatest) {
      // The reader wrote something: show it where it is, at the end of the conversation.
      this.#onJumpToLatest();
      return;
    }
    if (this.#held.some((m) => !isDistinct(m, message))) return;
    this.#held.push(message);
    if (this.#held.length > MAX_HELD) this.#held.shift();
    this.#unseen += 1;
    this.#updatePill();
  }

  #trim(side) {
    const excess = this.#items.length - this.#maxMessages;
    if (excess <= 0) return;
    const removed = side === "newest" ? this.#items.splice(-excess) : this.#items.splice(0, excess);
    for (const item of removed) {
      item.node.remove();
      item.separator?.remove();
      this.#index.delete(item);
    }
    if (side === "newest") this.#gapAfter = true;
    else this.#onTrimmed?.("older");
  }

  #scrollToEnd() {
    this.#scroller.scrollTop = this.#scroller.scrollHeight;
    if (!this.#gapAfter) this.#unseen = 0;
    this.#updatePill();
  }

  #distanceFromBottom() {
    const s = this.#scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight;
  }

  #insert(message) {
    message.seq = this.#seq++;
    message.system = message.user_name === SYSTEM_USER_NAME;
    message.separator = null;
    message.continued = false;
    message.node = this.#render(message);
    const low = insertionIndex(this.#items, message);
    const next = this.#items[low];
    this.#list.insertBefore(message.node, next ? (next.separator ?? next.node) : null);
    this.#items.splice(low, 0, message);
    this.#index.add(message);
  }

  #render(message) {
    const own = message.user_id === this.#myId;
    const node = messageNode(message, own, {
      mentionNames: this.#mentionNames,
      myName: this.#myName,
    });
    this.#decorate?.(node, message, own);
    return node;
  }

  #redraw(item) {
    const node = this.#render(item);
    node.dataset.continued = String(item.continued);
    item.node.replaceWith(node);
    item.node = node;
  }

  #scrolled() {
    if (this.#unseen > 0 && !this.#gapAfter && this.isAtBottom()) {
      this.#unseen = 0;
      this.#updatePill();
    }
    if (this.#onNearTop && this.#scroller.scrollTop < NEAR_END_PX) this.#onNearTop();
    if (this.#onNearBottom && this.#gapAfter && this.#distanceFromBottom() < NEAR_END_PX) {
      this.#onNearBottom();
    }
  }

  #updatePill() {
    showPill(this.#pill, this.#unseen, this.#gapAfter && this.#onJumpToLatest !== null);
  }
}
