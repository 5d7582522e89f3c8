// The room's member list with live status (Online / Typing / Offline) and unread badges for
// direct messages (each entry is built by member-node.mjs); the "X is typing…" line; and our
// own status on the /member-status socket: "Online" when connected, "Typing" while typing
// (at most once per 2 s), "Online" again after sending or after a pause.

import { roomMembers, pathSegment } from "./api.mjs";
import {
  SYSTEM_USER_NAME,
  TYPING_DISPLAY_MS,
  TYPING_IDLE_MS,
  TYPING_THROTTLE_MS,
} from "./constants.mjs";
import { byId } from "./dom.mjs";
import { latestOnly, STALE } from "./latest.mjs";
import { memberNode, placeInOrder, showMember, showRole } from "./member-node.mjs";
import { ReconnectingSocket } from "./socket.mjs";

const STATUSES = new Set(["Online", "Typing", "Offline"]);
const REFRESH_DEBOUNCE_MS = 300;

/** "Ada is typing…", "Ada and Bo are typing…", "Ada, Bo and 2 others are typing…" */
export function typingText(names) {
  if (names.length === 0) return "";
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  const others = names.length - 2;
  return `${names[0]}, ${names[1]} and ${others} ${others === 1 ? "other" : "others"} are typing…`;
}

export class MembersPanel {
  #roomHash;
  #session;
  #socket;
  #ui;
  #onOpenDm;
  #onOpen;
  #onChange;
  #decorate;
  #closed = false;
  #loadMembers = latestOnly(roomMembers); // an answer older than the latest request is dropped
  #members = new Map(); // user_id → {user_id, user_name, status, typingUntil, unread, node…}
  #myStatus = "Online";
  #lastTypingSent = 0;
  #idleTimer = null;
  #expiryTimer = null;
  #refreshTimer = null;
  #announceTimer = null;
  #activeDm = null;

  /**
   * @param {object} options
   *   roomHash, session, monitor, onErrorFrame(reason), onGiveUp(reason)
   *   onOpen()           each time the status socket (re)connects
   *   onOpenDm(userId)   the user picked someone to message directly
   *   onChange()         members joined, left or were renamed (see list())
   *   decorate(node, member)  after a member's entry was drawn or roles were reloaded
   *                      (moderation adds its "Actions for …" button)
   */
  constructor({ roomHash, session, monitor, onErrorFrame, onGiveUp, onOpen, onOpenDm, ...more }) {
    this.#roomHash = roomHash;
    this.#session = session;
    this.#onOpenDm = onOpenDm;
    this.#onOpen = onOpen;
    this.#onChange = more.onChange;
    this.#decorate = more.decorate;
    this.#ui = {
      list: byId("members"),
      heading: byId("members-heading"),
      empty: byId("members-empty"),
      typing: byId("typing-indicator"),
      toggleBadge: byId("members-toggle-badge"),
    };
    this.#socket = new ReconnectingSocket(`/room/${pathSegment(roomHash)}/member-status`, {
      name: "member status",
      bearer: () => this.#session.user_token,
      onOpen: () => {
        this.#socket.send({ user_status: this.#myStatus });
        this.#render();
        this.#onOpen?.();
      },
      onMessage: (event) => this.#receive(event),
      onErrorFrame,
      onGiveUp,
    });
    this.#socket.onStateChange(() => this.#render());
    monitor?.track(this.#socket);
  }

  get isOpen() {
    return this.#socket.isOpen;
  }

  start() {
    this.#ui.empty.hidden = true;
    this.#upsert(this.#session.user_id, this.#session.user_name);
    this.#render();
    this.#socket.start();
    this.refresh();
  }

  close() {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of [
      this.#idleTimer,
      this.#expiryTimer,
      this.#refreshTimer,
      this.#announceTimer,
    ]) {
      clearTimeout(timer);
    }
    this.#socket.close();
    this.#members.clear();
    this.#ui.list.replaceChildren();
    this.#ui.heading.textContent = "Members";
    this.#ui.empty.hidden = false;
    this.#ui.typing.textContent = "";
    this.#ui.toggleBadge.hidden = true;
  }

  /** Reload the member list from the API (someone new may have joined). */
  async refresh() {
    let list;
    try {
      list = await this.#loadMembers(this.#roomHash);
    } catch (error) {
      if (!this.#closed) console.warn("loading the member list failed", error);
      return;
    }
    if (this.#closed || list === STALE || !Array.isArray(list)) return;
    const current = new Set([this.#session.user_id]);
    for (const member of list) {
      if (!member || !Number.isInteger(member.user_id) || typeof member.user_name !== "string")
        continue;
      if (member.user_name === SYSTEM_USER_NAME) continue;
      const known = this.#upsert(member.user_id, member.user_name);
      known.role = member.role ?? "member";
      known.muted_until = member.muted_until ?? null;
      showRole(known.node, known.role);
      current.add(member.user_id);
    }
    for (const [userId, member] of this.#members) {
      if (!current.has(userId)) {
        member.node.remove();
        this.#members.delete(userId);
      }
    }
    for (const member of this.#members.values()) this.#decorate?.(member.node, member);
    this.#render();
    this.#onChange?.();
  }

  /** The members known, yourself included: [{user_id, user_name}]. */
  list() {
    return [...this.#members.values()].map(({ user_id, user_name }) => ({ user_id, user_name }));
  }

  /** Our role in the room ("member" until the list has loaded). */
  get myRole() {
    return this.#members.get(this.#session.user_id)?.role ?? "member";
  }

  /** The member with this id ({user_id, user_name, role, muted_until…}), or null. */
  get(userId) {
    return this.#members.get(userId) ?? null;
  }

  /** The display name of a member, if known. */
  nameOf(userId) {
    return this.#members.get(userId)?.user_name ?? null;
  }

  /** Call on every keystroke in the room's message box. */
  noteTyping() {
    const now = Date.now();
    // The throttle only spaces out repeats: after going back Online (e.g. a message was
    // just sent), the next keystroke says "Typing" again at once.
    const due = this.#myStatus !== "Typing" || now - this.#lastTypingSent >= TYPING_THROTTLE_MS;
    if (due && this.#socket.send({ user_status: "Typing" })) {
      this.#lastTypingSent = now;
      this.#myStatus = "Typing";
    }
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => this.#backOnline(), TYPING_IDLE_MS);
  }

  /** Call after a message was sent or the box was emptied. */
  noteStoppedTyping() {
    clearTimeout(this.#idleTimer);
    this.#backOnline();
  }

  /** Send our status now. */
  announce() {
    this.#socket.send({ user_status: this.#myStatus });
  }

  /** Re-send our status soon (someone asked through client-sync). A little random delay
   *  spreads the answers of many clients, and several requests in a row get one answer. */
  announceSoon() {
    if (this.#announceTimer !== null) return;
    this.#announceTimer = setTimeout(
      () => {
        this.#announceTimer = null;
        this.#socket.send({ user_status: this.#myStatus });
      },
      20 + Math.random() * 180,
    );
  }

  /** Show an unread count on a member (0 hides the badge). */
  setUnread(userId, count) {
    const member = this.#members.get(userId);
    if (!member) return;
    member.unread = count;
    this.#updateNode(member);
    this.#updateToggleBadge();
  }

  /** Highlight the member whose direct messages are open (or none). */
  setActiveDm(userId) {
    this.#activeDm = userId;
    for (const member of this.#members.values()) this.#updateNode(member);
  }

  #backOnline() {
    if (this.#myStatus !== "Typing") return;
    this.#myStatus = "Online";
    this.#socket.send({ user_status: "Online" });
  }

  #receive(event) {
    if (!event || typeof event !== "object") return;
    const { user_id, user_name, user_status } = event;
    if (!Number.isInteger(user_id) || typeof user_name !== "string" || !STATUSES.has(user_status)) {
      return;
    }
    if (user_id === this.#session.user_id) return; // our own status is shown from local state
    if (!this.#members.has(user_id)) {
      // A status from someone we do not know: they have just joined. Show them right away
      // and fetch the real list shortly.
      this.#upsert(user_id, user_name);
      this.#onChange?.();
      clearTimeout(this.#refreshTimer);
      this.#refreshTimer = setTimeout(() => this.refresh(), REFRESH_DEBOUNCE_MS);
    }
    const member = this.#members.get(user_id);
    member.status = user_status;
    member.typingUntil = user_status === "Typing" ? Date.now() + TYPING_DISPLAY_MS : 0;
    this.#scheduleTypingExpiry();
    this.#render();
  }

  /** "Typing" fades back to "Online" by itself if no other event arrives. */
  #scheduleTypingExpiry() {
    clearTimeout(this.#expiryTimer);
    const deadlines = [...this.#members.values()]
      .filter((member) => member.status === "Typing")
      .map((member) => member.typingUntil);
    if (deadlines.length === 0) return;
    const wait = Math.max(0, Math.min(...deadlines) - Date.now());
    this.#expiryTimer = setTimeout(() => {
      const now = Date.now();
      for (const member of this.#members.values()) {
        if (member.status === "Typing" && member.typingUntil <= now) member.status = "Online";
      }
      this.#render();
      this.#scheduleTypingExpiry();
    }, wait + 20);
  }

  #upsert(userId, userName) {
    let member = this.#members.get(userId);
    if (member) {
      if (member.user_name !== userName) {
        member.user_name = userName;
        member.node.remove();
        member.node = this.#createNode(member);
      }
      return member;
    }
    member = {
      user_id: userId,
      user_name: userName,
      status: "Offline",
      typingUntil: 0,
      unread: 0,
    };
    member.node = this.#createNode(member);
    this.#members.set(userId, member);
    return member;
  }

  #isMe(member) {
    return member.user_id === this.#session.user_id;
  }

  #createNode(member) {
    return memberNode(member, { isMe: this.#isMe(member), onOpenDm: this.#onOpenDm });
  }

  #statusOf(member) {
    if (this.#isMe(member)) return this.#socket.isOpen ? this.#myStatus : "Offline";
    return member.status;
  }

  #updateNode(member) {
    showMember(member, { status: this.#statusOf(member), activeDm: this.#activeDm });
  }

  #render() {
    if (this.#closed) return;
    const members = [...this.#members.values()];
    for (const member of members) this.#updateNode(member);

    placeInOrder(this.#ui.list, members, (member) => this.#isMe(member));

    const online = members.filter((member) => this.#statusOf(member) !== "Offline").length;
    this.#ui.heading.textContent = `Members (${online} of ${members.length} online)`;
    const typing = members
      .filter((member) => !this.#isMe(member) && member.status === "Typing")
      .map((member) => member.user_name);
    this.#ui.typing.textContent = typingText(typing);
  }

  #updateToggleBadge() {
    const total = [...this.#members.values()].reduce((sum, member) => sum + member.unread, 0);
    this.#ui.toggleBadge.hidden = total === 0;
  }
}
