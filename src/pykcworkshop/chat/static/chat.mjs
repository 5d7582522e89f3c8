// The open room's conversation: the live /chat-message socket and its message list, the
// composer (composer.mjs), editing one's own messages (message-edit.mjs), and paging
// through /chat-history (paging.mjs): back when the reader scrolls up, forward again after
// the bounded list dropped the newest messages, and catching up on what was missed while
// the connection was down.

import { Composer } from "./composer.mjs";
import { MAX_RENDERED_MESSAGES } from "./constants.mjs";
import { placeDivider } from "./divider.mjs";
import { byId } from "./dom.mjs";
import { HistoryClient } from "./history.mjs";
import { normalizeMessage } from "./message-data.mjs";
import { bindMessageEdits } from "./message-edit.mjs";
import { MessageList } from "./messages.mjs";
import { ConversationPager } from "./paging.mjs";
import { ReconnectingSocket } from "./socket.mjs";
import { pathSegment } from "./api.mjs";

export class RoomChat {
  #session;
  #abort = new AbortController();
  #closed = false;
  #chatSocket;
  #history;
  #list;
  #composer;
  #pager;
  #ui;
  #onMention;
  #lastReadId;
  #onRead;
  #positioned = false;

  /**
   * @param {object} options
   *   roomHash, session ({user_id, user_token…}), validator (FormValidator), monitor,
   *   onErrorFrame(reason), onGiveUp(reason) when a socket is refused,
   *   onTyping() on every keystroke with text in the box,
   *   onStoppedTyping() after a message went out or the box was emptied
   *   getMembers()      the room's members to offer after "@" ([{user_id, user_name}])
   *   onMention(message) a live message from someone else mentions the user
   *   lastReadId        the read position when the room was opened: the "New messages"
   *                     divider goes above the first message after it (null: no divider)
   *   onRead(messageId) the newest message is on screen in a focused tab: read up to it
   *   decorateMessage(node, message, own)  adds a drawn message's actions (Delete)
   */
  constructor({
    roomHash,
    session,
    validator,
    monitor,
    onErrorFrame,
    onGiveUp,
    onTyping,
    onStoppedTyping,
    getMembers = () => [],
    onMention,
    lastReadId = null,
    onRead = null,
    decorateMessage = null,
  }) {
    this.#session = session;
    this.#onMention = onMention;
    this.#lastReadId = Number.isInteger(lastReadId) ? lastReadId : null;
    this.#onRead = onRead;
    this.#ui = {
      scroller: byId("messages"),
      list: byId("message-list"),
      pill: byId("new-messages-pill"),
      start: byId("history-start"),
      loading: byId("history-loading"),
      unavailable: byId("chat-unavailable"),
    };
    const bearer = () => this.#session.user_token;
    const room = pathSegment(roomHash);

    this.#list = new MessageList({
      scroller: this.#ui.scroller,
      list: this.#ui.list,
      myId: session.user_id,
      myName: session.user_name,
      pill: this.#ui.pill,
      maxMessages: MAX_RENDERED_MESSAGES,
      onNearTop: () => this.#pager.loadOlder(),
      onNearBottom: () => this.#pager.loadNewer(),
      onJumpToLatest: () => this.#pager.jumpToLatest(),
      onTrimmed: () => this.#pager.unmarkBeginning(),
      decorate: decorateMessage,
    });

    this.#chatSocket = new ReconnectingSocket(`/room/${room}/chat-message`, {
      name: "chat",
      bearer,
      onOpen: ({ reconnected }) => this.#chatOpened(reconnected),
      onMessage: (message) => this.#receive(message),
      onErrorFrame,
      onGiveUp: (reason, info) => {
        this.#showUnavailable("Live chat is unavailable: the server refused the connection.");
        onGiveUp?.(reason, info);
      },
    });
    this.#chatSocket.onStateChange(() => this.#composer.render());
    monitor?.track(this.#chatSocket);

    this.#history = new HistoryClient(roomHash, {
      bearer,
      monitor,
      onGiveUp,
      onErrorFrame,
    });
    this.#pager = new ConversationPager({
      history: this.#history,
      list: this.#list,
      scroller: this.#ui.scroller,
      start: this.#ui.start,
      loading: this.#ui.loading,
      onChanged: ({ initial }) => this.#afterChange(initial),
    });

    this.#composer = new Composer({
      socket: this.#chatSocket,
      validator,
      signal: this.#abort.signal,
      getMembers: () => getMembers().filter((member) => member.user_id !== session.user_id),
      onTyping,
      onStoppedTyping,
    });

    // Reading: the bottom of the list in view while the tab is visible and focused.
    const { signal } = this.#abort;
    bindMessageEdits(this.#ui.list, {
      roomHash,
      getMessage: (id) => this.#list.messages().find((message) => message.id === id) ?? null,
      onEdited: (message) => this.applyEdit({ message_id: message.id, ...message }),
      signal,
    });
    const reading = () => this.#noteReading();
    this.#ui.scroller.addEventListener("scroll", reading, { passive: true, signal });
    window.addEventListener("focus", reading, { signal });
    document.addEventListener("visibilitychange", reading, { signal });
  }

  /** The room's member names, which messages may mention ("@name"). */
  setMentionNames(names) {
    this.#list.setMentionNames(names);
    this.#afterChange(false);
  }

  start() {
    this.#ui.start.hidden = true;
    this.#ui.loading.hidden = true;
    this.#ui.unavailable.hidden = true;
    this.#composer.reset();
    this.#chatSocket.start();
    this.#history.start();
  }

  close() {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort();
    this.#pager.close();
    this.#composer.close();
    this.#chatSocket.close();
    this.#history.close();
    this.#list.destroy();
    this.#ui.start.hidden = true;
    this.#ui.loading.hidden = true;
    this.#ui.unavailable.hidden = true;
  }

  /** A message was deleted: it disappears from the view. */
  removeMessage(id) {
    this.#list.remove(id);
  }

  /** A message was edited (a message-edited event, or our own edit's answer): show the new text. */
  applyEdit({ message_id, content, edited_at }) {
    if (!Number.isInteger(message_id) || typeof content !== "string") return;
    this.#list.update(message_id, { content, edited_at: edited_at ?? null });
  }

  focusComposer() {
    this.#composer.focus();
  }

  /**
   * The list changed: keep the divider above the first unread message and note reading.
   * On the first page, open at the divider (the list itself scrolled to the bottom).
   */
  #afterChange(initial) {
    const divider =
      this.#lastReadId === null ? null : placeDivider(this.#ui.list, this.#lastReadId);
    if (initial && !this.#positioned) {
      // Only when the room opens: "jump to latest" loads a first page again, to the bottom.
      this.#positioned = true;
      divider?.scrollIntoView({ block: "start" });
      // Nothing was unread on opening: what arrives while the room is open needs no divider.
      if (!divider) this.#lastReadId = null;
    }
    this.#noteReading();
  }

  /** Report the newest message as read when the reader can see it. */
  #noteReading() {
    if (this.#closed || !this.#onRead || !this.#pager.ready) return;
    if (document.visibilityState !== "visible" || !document.hasFocus()) return;
    if (this.#list.hasGapAfter || !this.#list.isAtBottom()) return;
    const newest = this.#list.newest();
    if (Number.isInteger(newest?.id)) this.#onRead(newest.id);
  }

  /** A message from the live socket. */
  #receive(raw) {
    this.#list.add([raw], { position: "live" });
    this.#afterChange(false);
    const message = normalizeMessage(raw);
    if (message && this.#list.mentionsMe(message)) this.#onMention?.(message);
  }

  #chatOpened(reconnected) {
    this.#ui.unavailable.hidden = true;
    this.#pager.opened(reconnected);
  }

  #showUnavailable(text) {
    if (this.#closed) return;
    this.#ui.unavailable.textContent = text;
    this.#ui.unavailable.hidden = false;
  }
}
