// Direct messages between two members of the room. The server relays a DM only between the
// sockets the two users hold open *to each other* (/chat/api/v1/<user_id>/direct-message)
// and stores nothing. So this module keeps one socket per conversation partner, the
// messages of this page's lifetime in memory, and the DM panel. The client-sync events
// (see sync.mjs) make the partner's client open its side (dm-open) and show unread badges
// and a notification when a conversation is not open (dm-notify).

import { pathSegment } from "./api.mjs";
import { MAX_CONTENT_LENGTH } from "./constants.mjs";
import { bindSendKeys, byId, isShown } from "./dom.mjs";
import { normalizeMessage } from "./message-data.mjs";
import { MessageList } from "./messages.mjs";
import { ReconnectingSocket } from "./socket.mjs";
import { toast } from "./toast.mjs";
import { charLength, contentProblem } from "./validation.mjs";

const MAX_CONVERSATIONS = 16; // background sockets kept open at most
const MAX_BUFFERED = 500; // messages kept per conversation

function messageKey(message) {
  return message.id !== null
    ? `id:${message.id}`
    : `${message.user_id}|${message.micros}|${message.content}`;
}

export class DirectMessages {
  #session;
  #members;
  #sync;
  #onErrorFrame;
  #onShowPanel;
  #onDirectMessage;
  #ui;
  #list;
  #abort = new AbortController();
  #closed = false;
  #conversations = new Map(); // user_id → {userId, socket, messages, keys, unread, lastUsed}
  #openId = null;
  #returnFocus = null;

  /**
   * @param {object} options
   *   session, members (MembersPanel: names, badges), sync (SyncChannel),
   *   onErrorFrame(reason), onShowPanel() to reveal the panel (e.g. open the drawer on phones)
   *   onDirectMessage(message, open) a message from a partner arrived (normalized);
   *                  open() shows that conversation
   */
  constructor({ session, members, sync, onErrorFrame, onShowPanel, onDirectMessage }) {
    this.#session = session;
    this.#members = members;
    this.#sync = sync;
    this.#onErrorFrame = onErrorFrame;
    this.#onShowPanel = onShowPanel;
    this.#onDirectMessage = onDirectMessage;
    this.#ui = {
      panel: byId("dm-panel"),
      title: byId("dm-title"),
      close: byId("dm-close"),
      scroller: byId("dm-messages"),
      list: byId("dm-message-list"),
      empty: byId("dm-empty"),
      form: byId("dm-form"),
      input: byId("dm-input"),
      send: byId("dm-send"),
      reason: byId("dm-reason"),
      counter: byId("dm-counter"),
    };
    this.#list = new MessageList({
      scroller: this.#ui.scroller,
      list: this.#ui.list,
      myId: session.user_id,
      empty: this.#ui.empty,
    });
    this.#bind();
  }

  /** Open the conversation with a member in the panel. */
  open(userId) {
    if (this.#closed || userId === this.#session.user_id) return;
    const conversation = this.#ensure(userId);
    if (!this.#ui.panel.contains(document.activeElement))
      this.#returnFocus = document.activeElement;
    if (this.#openId !== userId) {
      this.#openId = userId;
      this.#list.reset();
      this.#list.add(conversation.messages, { position: "initial" });
      this.#ui.input.value = "";
    }
    conversation.unread = 0;
    this.#members.setUnread(userId, 0);
    this.#members.setActiveDm(userId);
    this.#ui.title.textContent = this.#nameOf(userId);
    this.#ui.panel.hidden = false;
    this.#onShowPanel?.();
    // Ask the partner's client to connect its side, in case it has not yet.
    this.#sync.send("dm-open", { to: userId });
    this.#renderComposer();
    this.#list.scrollToBottom();
    this.#ui.input.focus();
  }

  /** Hide the panel; the conversation's socket stays open in the background. */
  closePanel() {
    if (this.#openId === null) return;
    const userId = this.#openId;
    this.#openId = null;
    this.#ui.panel.hidden = true;
    this.#list.reset();
    this.#members.setActiveDm(null);
    // Back to where the user came from, else to the member's button.
    const from = this.#returnFocus;
    const back =
      from instanceof HTMLElement && from !== document.body && isShown(from)
        ? from
        : document.querySelector(`[data-testid="member"][data-user-id="${userId}"] button`);
    back?.focus();
    this.#returnFocus = null;
  }

  /** dm-open from a partner: connect our side so their messages reach us. */
  handleOpenRequest({ from }) {
    if (!this.#closed) this.#ensure(from);
  }

  /** A member (re)connected to the room: if we talk to them, have them connect their side. */
  handlePeerConnected({ from }) {
    if (!this.#closed && this.#conversations.get(from)?.socket.isOpen) {
      this.#sync.send("dm-open", { to: from });
    }
  }

  /** dm-notify from a partner: badge and notification unless we are looking at it. */
  handleNotify({ from }) {
    if (this.#closed) return;
    const conversation = this.#ensure(from);
    const visible =
      this.#openId === from && document.visibilityState === "visible" && isShown(this.#ui.panel);
    if (visible) return;
    conversation.unread += 1;
    this.#members.setUnread(from, conversation.unread);
    toast(`New direct message from ${this.#nameOf(from)}`, {
      key: `dm:${from}`,
      action: { label: "Open", onClick: () => this.open(from) },
    });
  }

  /** Close every conversation (leaving the room or logging out). */
  close() {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort();
    for (const conversation of this.#conversations.values()) conversation.socket.close();
    this.#conversations.clear();
    this.#list.destroy();
    this.#openId = null;
    this.#ui.panel.hidden = true;
    this.#ui.input.value = "";
  }

  #nameOf(userId) {
    return this.#members.nameOf(userId) ?? `user ${userId}`;
  }

  #ensure(userId) {
    let conversation = this.#conversations.get(userId);
    if (!conversation) {
      this.#evictIfFull();
      conversation = {
        userId,
        messages: [],
        keys: new Set(),
        unread: 0,
        lastUsed: 0,
      };
      conversation.socket = new ReconnectingSocket(`/${pathSegment(userId)}/direct-message`, {
        name: `direct messages with ${this.#nameOf(userId)}`,
        bearer: () => this.#session.user_token,
        onOpen: () => this.#sync.send("dm-open", { to: userId }),
        onMessage: (message) => this.#receive(conversation, message),
        onErrorFrame: this.#onErrorFrame,
        onGiveUp: () => {
          if (this.#openId !== userId) return;
          toast(`${this.#nameOf(userId)} cannot receive direct messages from you right now.`, {
            kind: "error",
            key: `dm-refused:${userId}`,
          });
        },
      });
      conversation.socket.onStateChange(() => {
        if (this.#openId === userId) this.#renderComposer();
      });
      this.#conversations.set(userId, conversation);
      conversation.socket.start();
    }
    conversation.lastUsed = Date.now();
    return conversation;
  }

  #evictIfFull() {
    if (this.#conversations.size < MAX_CONVERSATIONS) return;
    const candidates = [...this.#conversations.values()].filter((c) => c.userId !== this.#openId);
    candidates.sort((a, b) => a.lastUsed - b.lastUsed);
    const oldest = candidates[0];
    if (!oldest) return;
    oldest.socket.close();
    this.#conversations.delete(oldest.userId);
  }

  #receive(conversation, raw) {
    const message = normalizeMessage(raw);
    if (!message) return;
    const key = messageKey(message);
    if (conversation.keys.has(key)) return;
    conversation.keys.add(key);
    conversation.messages.push(raw);
    if (conversation.messages.length > MAX_BUFFERED) conversation.messages.shift();
    conversation.lastUsed = Date.now();
    if (this.#openId === conversation.userId) this.#list.add([raw], { position: "live" });
    if (message.user_id === conversation.userId) {
      this.#onDirectMessage?.(message, () => this.open(conversation.userId));
    }
  }

  // ---- composer ---------------------------------------------------------------------------

  #bind() {
    const { signal } = this.#abort;
    const { form, input, close } = this.#ui;
    close.addEventListener("click", () => this.closePanel(), { signal });
    bindSendKeys(form, input, () => this.#send(), signal);
    input.addEventListener(
      "keydown",
      (event) => {
        if (event.key === "Escape") {
          event.preventDefault(); // handled here: the drawer stays open
          this.closePanel();
        }
      },
      { signal },
    );
    input.addEventListener("input", () => this.#renderComposer(), { signal });
  }

  #current() {
    return this.#openId === null ? null : this.#conversations.get(this.#openId);
  }

  #canSend() {
    const value = this.#ui.input.value;
    const socket = this.#current()?.socket;
    return Boolean(socket?.isOpen) && value.trim() !== "" && contentProblem(value) === "";
  }

  #send() {
    const conversation = this.#current();
    if (!conversation || !this.#canSend()) return;
    const content = this.#ui.input.value.trim();
    if (!conversation.socket.send({ content })) {
      toast("Not connected: your direct message was not sent.", {
        kind: "error",
        key: "dm-not-sent",
      });
      return;
    }
    this.#sync.send("dm-notify", { to: conversation.userId });
    this.#ui.input.value = "";
    this.#renderComposer();
  }

  #renderComposer() {
    const { input, send, reason, counter } = this.#ui;
    const length = charLength(input.value);
    const problem = contentProblem(input.value);
    counter.textContent = `${length} / ${MAX_CONTENT_LENGTH}`;
    counter.dataset.over = String(length > MAX_CONTENT_LENGTH);
    const socket = this.#current()?.socket;
    const connecting = socket && !socket.isOpen;
    reason.textContent =
      problem || (socket?.state === "failed" ? "This person cannot receive your messages." : "");
    input.setAttribute("aria-invalid", String(problem !== ""));
    input.placeholder =
      connecting && socket.state !== "failed" ? "Connecting…" : "Write a direct message…";
    send.disabled = !this.#canSend();
  }
}
