// A rendered list of chat messages, used for the room chat and for direct messages.
// It checks each message's shape, keeps the list in time order, drops duplicates (by
// message `id` when the server sends one, otherwise by (user_id, timestamp, content)), and
// manages scrolling: it follows new messages only when the reader is already at the bottom,
// otherwise counts them on the "new messages" pill; when messages are added or removed
// elsewhere, it keeps what the reader is looking at in place.
//
// Layout (timeline.mjs): a day separator before the first message of each day, and
// consecutive messages of one author grouped under one header (data-continued="true" on
// the others). Content (richtext.mjs): links, mentions of the room's members, inline code
// and code blocks with a copy button, built from DOM nodes with text, never from HTML.
// Someone else's message that mentions the reader (`myName`) is highlighted: an accent bar,
// and "mentions you" for screen readers.
//
// Bounded (`maxMessages`): the list keeps at most that many messages. Past it, it drops
// messages from the end away from the reader: the newest while they read back through the
// history (then there is a gap after the newest shown: live messages are held back and
// counted on the pill, `onNearBottom` asks for the next page, `attach()` closes the gap),
// the oldest while they follow the conversation (`onTrimmed("older")`, so the history can
// be paged in again).

import { copyText } from "./clipboard.mjs";
import { SYSTEM_USER_NAME } from "./constants.mjs";
import { el } from "./dom.mjs";
import { mentionCandidates } from "./mentions.mjs";
import { tokenize } from "./richtext.mjs";
import {
  dayLabel,
  formatClock,
  formatFullDate,
  layoutTimeline,
  msUntilNextDay,
} from "./timeline.mjs";
import { toast } from "./toast.mjs";

/** Live messages held back at most while the newest ones are not shown (the newest win). */
const MAX_HELD = 100;
/** How close to either end (CSS pixels) the reader must scroll to load more. */
const NEAR_END_PX = 200;
const COPIED_FEEDBACK_MS = 1500;

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

function compareMessages(a, b) {
  if (a.micros !== b.micros) return a.micros - b.micros;
  if (a.id !== null && b.id !== null && a.id !== b.id) return a.id - b.id;
  return a.seq - b.seq;
}

/** Whether `message` (not yet in the list) would sort after `newest`. */
function isAfter(message, newest) {
  if (message.micros !== newest.micros) return message.micros > newest.micros;
  if (message.id !== null && newest.id !== null) return message.id > newest.id;
  return true; // same time, no ids: new ones go last, as #insert does
}

function tupleKey(message) {
  return `${message.user_id}\u0000${message.micros}\u0000${message.content}`;
}

/**
 * The nodes that show a message's text: strings (text nodes), links, mentions, inline code
 * and code blocks. Every piece of user text goes in as text; hrefs are http(s) URLs checked
 * by richtext.mjs and set as an attribute. The copy button's label and the block's language
 * come from CSS (::after, attr()), so the content's textContent stays the message's text.
 * `mentionNames`: the names "@name" may mention; `myName`: the reader's (data-me="true").
 */
export function renderContent(text, { mentionNames = [], myName = "" } = {}) {
  const me = myName.toLowerCase();
  return tokenize(text, { mentionNames }).map((segment) => {
    switch (segment.type) {
      case "mention":
        return el("span", {
          class: "mention",
          dataset: {
            testid: "mention",
            name: segment.name,
            me: String(me !== "" && segment.name.toLowerCase() === me),
          },
          text: segment.text,
        });
      case "link":
        return el("a", {
          class: "msg-link",
          href: segment.href,
          target: "_blank",
          rel: "noopener noreferrer nofollow",
          dataset: { testid: "message-link" },
          text: segment.text,
        });
      case "code":
        return el("code", {
          class: "msg-code",
          dataset: { testid: "inline-code" },
          text: segment.text,
        });
      case "codeblock":
        return renderCodeBlock(segment);
      default:
        return segment.text;
    }
  });
}

function renderCodeBlock({ text, lang }) {
  const langData = lang ? { lang } : {};
  const copy = el("button", {
    type: "button",
    class: "code-copy",
    title: "Copy code",
    "aria-label": "Copy code",
    dataset: { testid: "code-copy" },
  });
  return el("div", { class: "code-block", dataset: { testid: "code-block", ...langData } }, [
    el("div", { class: "code-block-bar", dataset: langData }, [copy]),
    el("pre", { class: "code-pre", tabindex: "0" }, [el("code", { text })]),
  ]);
}

/** Copy a code block's text for its copy button (one listener for the whole list). */
async function copyCodeBlock(button) {
  const code = button.closest("[data-testid=code-block]")?.querySelector("pre code");
  if (!code) return;
  const copied = await copyText(code.textContent);
  clearTimeout(button._copiedTimer);
  if (!copied) {
    delete button.dataset.copied;
    toast("Could not copy: select the code and copy it.", { kind: "error", key: "code-copy" });
    return;
  }
  button.dataset.copied = "true";
  button.setAttribute("aria-label", "Copied");
  button._copiedTimer = setTimeout(() => {
    delete button.dataset.copied;
    button.setAttribute("aria-label", "Copy code");
  }, COPIED_FEEDBACK_MS);
}

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
  // Normalized messages in display order, each with its DOM `node`, its day `separator`
  // (a node or null) and whether it is `continued` (grouped under the previous header).
  #items = [];
  #byId = new Map();
  #byTuple = new Map();
  #seq = 0;
  #unseen = 0;
  #gapAfter = false; // newer messages exist that are not in the list (dropped by the bound)
  #held = []; // live messages that arrived during the gap, oldest first
  #dayTimer = null;
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
    const { signal } = this.#abort;
    scroller.addEventListener("scroll", () => this.#scrolled(), {
      passive: true,
      signal,
    });
    pill?.addEventListener("click", () => this.scrollToBottom(), { signal });
    list.addEventListener(
      "click",
      (event) => {
        const button = event.target.closest?.("[data-testid=code-copy]");
        if (button && list.contains(button)) copyCodeBlock(button);
      },
      { signal },
    );
    this.#scheduleDayChange();
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
    const anchor = this.#anchor();
    for (const item of this.#items) {
      const node = this.#render(item);
      node.dataset.continued = String(item.continued);
      item.node.replaceWith(node);
      item.node = node;
    }
    if (atBottom) this.#scrollToEnd();
    else this.#restore(anchor);
  }

  /** Whether someone else's message mentions the reader. */
  mentionsMe(message) {
    if (!this.#myName || message.user_id === this.#myId) return false;
    if (message.user_name === SYSTEM_USER_NAME) return false;
    const me = this.#myName.toLowerCase();
    return tokenize(message.content, { mentionNames: this.#mentionNames }).some(
      (segment) => segment.type === "mention" && segment.name.toLowerCase() === me,
    );
  }

  /** Remove every message. */
  reset() {
    this.#items = [];
    this.#byId.clear();
    this.#byTuple.clear();
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
    clearTimeout(this.#dayTimer);
    this.reset();
  }

  #addMessages(messages, position) {
    const wasAtBottom = !this.#gapAfter && this.isAtBottom();
    const before = { above: this.#scroller.scrollTop, below: this.#distanceFromBottom() };
    const anchor = this.#anchor();

    const added = [];
    for (const message of messages) {
      if (this.#isDuplicate(message)) continue;
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
    this.#trim(this.#trimSide(position, follow, before));
    this.#layout();

    if (follow) {
      this.#scrollToEnd();
    } else {
      this.#restore(anchor);
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
    if (this.#held.some((m) => !this.#isDistinct(m, message))) return;
    this.#held.push(message);
    if (this.#held.length > MAX_HELD) this.#held.shift();
    this.#unseen += 1;
    this.#updatePill();
  }

  /** Which end to drop messages from, when over the bound: the one away from the reader. */
  #trimSide(position, follow, { above, below }) {
    if (position === "older") return "newest";
    if (position === "forward" || follow) return "oldest";
    return above > below ? "oldest" : "newest";
  }

  #trim(side) {
    const excess = this.#items.length - this.#maxMessages;
    if (excess <= 0) return;
    const removed = side === "newest" ? this.#items.splice(-excess) : this.#items.splice(0, excess);
    for (const item of removed) {
      item.node.remove();
      item.separator?.remove();
      if (item.id !== null && this.#byId.get(item.id) === item) this.#byId.delete(item.id);
      const key = tupleKey(item);
      if (this.#byTuple.get(key) === item) this.#byTuple.delete(key);
    }
    if (side === "newest") this.#gapAfter = true;
    else this.#onTrimmed?.("older");
  }

  /** Put day separators and group headers where timeline.mjs says. */
  #layout() {
    const layout = layoutTimeline(this.#items);
    const now = new Date();
    layout.forEach(({ day, newDay, continued }, index) => {
      const item = this.#items[index];
      if (newDay) {
        const label = dayLabel(item.ms, now);
        if (!item.separator) {
          item.separator = el(
            "li",
            { class: "day-separator", dataset: { testid: "day-separator", day } },
            [el("span", { class: "day-separator-label", text: label })],
          );
          this.#list.insertBefore(item.separator, item.node);
        } else if (item.separator.textContent !== label) {
          item.separator.firstChild.textContent = label;
        }
      } else if (item.separator) {
        item.separator.remove();
        item.separator = null;
      }
      if (item.continued !== continued) {
        item.continued = continued;
        item.node.dataset.continued = String(continued);
      }
    });
  }

  /** Relabel the separators at midnight ("Today" becomes "Yesterday"). */
  #scheduleDayChange() {
    this.#dayTimer = setTimeout(() => {
      if (this.#abort.signal.aborted) return;
      const anchor = this.#anchor();
      this.#layout();
      this.#restore(anchor);
      this.#scheduleDayChange();
    }, msUntilNextDay() + 1000);
  }

  /** The first message at least partly in view, and its offset from the scroller's top. */
  #anchor() {
    if (this.#items.length === 0) return null;
    const top = this.#scroller.getBoundingClientRect().top;
    let low = 0;
    let high = this.#items.length - 1;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (this.#items[mid].node.getBoundingClientRect().bottom > top) high = mid;
      else low = mid + 1;
    }
    const item = this.#items[low];
    return { item, offset: item.node.getBoundingClientRect().top - top };
  }

  /** Scroll so that the anchor is drawn where it was (when it is still in the list). */
  #restore(anchor) {
    if (!anchor || !anchor.item.node.isConnected) return;
    const top = this.#scroller.getBoundingClientRect().top;
    const offset = anchor.item.node.getBoundingClientRect().top - top;
    this.#scroller.scrollTop += offset - anchor.offset;
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

  #isDuplicate(message) {
    if (message.id !== null && this.#byId.has(message.id)) return true;
    const same = this.#byTuple.get(tupleKey(message));
    return Boolean(same) && !this.#isDistinct(same, message);
  }

  /** Two different messages with ids are never duplicates, whatever their content. */
  #isDistinct(a, b) {
    if (a.id !== null && b.id !== null) return a.id !== b.id;
    return tupleKey(a) !== tupleKey(b);
  }

  #insert(message) {
    message.seq = this.#seq++;
    message.system = message.user_name === SYSTEM_USER_NAME;
    message.separator = null;
    message.continued = false;
    message.node = this.#render(message);
    // Binary search for the insertion point; most messages go at the end.
    let low = 0;
    let high = this.#items.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (compareMessages(this.#items[mid], message) <= 0) low = mid + 1;
      else high = mid;
    }
    const next = this.#items[low];
    this.#list.insertBefore(message.node, next ? (next.separator ?? next.node) : null);
    this.#items.splice(low, 0, message);
    if (message.id !== null) this.#byId.set(message.id, message);
    this.#byTuple.set(tupleKey(message), message);
  }

  #render(message) {
    const own = message.user_id === this.#myId;
    const { system } = message;
    const kind = system ? "msg msg-system" : own ? "msg msg-own" : "msg msg-other";
    const node = el("li", {
      class: kind,
      dataset: {
        testid: "message",
        author: message.user_name,
        userId: String(message.user_id),
        own: String(own),
        system: String(system),
        continued: "false",
      },
    });
    if (message.id !== null) node.dataset.messageId = String(message.id);

    const time = el("time", {
      class: "msg-time",
      datetime: message.timestamp,
      title: formatFullDate(message.ms),
      dataset: { testid: "message-time" },
      text: formatClock(message.ms),
    });
    const content = el(
      "div",
      { class: "msg-content", dataset: { testid: "message-content" } },
      system
        ? message.content
        : renderContent(message.content, {
            mentionNames: this.#mentionNames,
            myName: this.#myName,
          }),
    );

    if (system) {
      node.append(content, " ", time);
    } else {
      const author = el("span", {
        class: "msg-author",
        dataset: { testid: "message-author" },
        text: message.user_name,
      });
      node.append(el("div", { class: "msg-meta" }, [author, time]));
      const mentionsMe = own
        ? null
        : content.querySelector('[data-testid=mention][data-me="true"]');
      if (mentionsMe) {
        node.classList.add("msg-mention");
        node.dataset.mentionsMe = "true";
        // Not only a colour: the accent bar shows it, and screen readers hear it.
        node.append(el("span", { class: "sr-only", text: "mentions you" }));
      }
      node.append(content);
    }
    return node;
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
    if (!this.#pill) return;
    // During a gap the pill also offers the way back to the latest messages.
    this.#pill.hidden = this.#unseen === 0 && !(this.#gapAfter && this.#onJumpToLatest);
    let label = "Jump to latest ↓";
    if (this.#unseen === 1) label = "1 new message ↓";
    else if (this.#unseen > 1) label = `${this.#unseen} new messages ↓`;
    this.#pill.textContent = label;
  }
}
