// One open room: its chat, member list, client-sync channel, direct messages, room events
// and moderation (moderation.mjs), wired to each other, started together and closed together when the user switches rooms or logs
// out (every socket closed on purpose, every listener and timer removed).

import * as api from "./api.mjs";
import { RoomChat } from "./chat.mjs";
import { DirectMessages } from "./dm.mjs";
import { setBaseTitle } from "./attention.mjs";
import { byId } from "./dom.mjs";
import { MembersPanel } from "./members.mjs";
import { RoomModeration } from "./moderation.mjs";
import { RoomEvents } from "./room-events.mjs";
import { shareLink } from "./rooms.mjs";
import { SyncChannel } from "./sync.mjs";
import { toast } from "./toast.mjs";

export class RoomSession {
  #roomHash;
  #closed = false;
  #refusalReported = false;
  #ui;
  #name = "";
  #notifier;
  #onOpenRoom;
  #onRemoved;
  chat;
  members;
  sync;
  dm;
  events;
  moderation;

  /**
   * @param {object} options
   *   room {room_hash, room_name}, session, validator, monitor,
   *   onErrorFrame(reason)  show a server error frame
   *   onShowPeople()        reveal the members/DM column (a drawer on phones)
   *   notifier              Notifier: mentions and DMs while the tab is hidden
   *   onOpenRoom(room)      open a room again (a click on its notification)
   *   onRemoved(reason)     the server ended our membership (4003) or deleted the room (4004)
   *   onRenamed()           the room was renamed or changed owner (the room lists reload)
   *   onGone(message)       we left or deleted the room here (close it, say `message`)
   *   lastReadId            the read position when opened (for the "New messages" divider)
   *   onRead(messageId)     the reader has seen the room up to this message
   *   onEnding()            the room was deleted or we were removed: stop sending reads
   *                         now (the socket's 4003/4004 close, and onRemoved, follow)
   */
  constructor({
    room,
    session,
    validator,
    monitor,
    onErrorFrame,
    onShowPeople,
    notifier,
    onOpenRoom,
    onRemoved,
    onRenamed,
    onGone,
    lastReadId = null,
    onRead = null,
    onEnding = null,
  }) {
    this.#roomHash = room.room_hash;
    this.#notifier = notifier;
    this.#onOpenRoom = onOpenRoom;
    this.#onRemoved = onRemoved;
    this.#ui = {
      noRoom: byId("no-room"),
      roomOpen: byId("room-open"),
      roomView: byId("room-view"),
      title: byId("room-title"),
      share: byId("share-link"),
    };
    this.setName(room.room_name);

    const common = {
      roomHash: room.room_hash,
      session,
      monitor,
      onErrorFrame,
      onGiveUp: (reason, info) => this.#refused(reason, info),
    };
    this.moderation = new RoomModeration({
      roomHash: room.room_hash,
      session,
      getRole: () => this.members.myRole,
      getMember: (userId) => this.members.get(userId),
      getName: () => this.#name,
      refreshMembers: () => this.members.refresh(),
      removeMessage: (id) => this.chat.removeMessage(id),
      onRenamed: (name) => {
        this.setName(name);
        onRenamed?.();
      },
      onGone,
    });
    this.members = new MembersPanel({
      ...common,
      onOpen: () => this.#requestStatuses(),
      onOpenDm: (userId) => this.dm.open(userId),
      onChange: () => {
        this.chat?.setMentionNames(this.members.list().map((m) => m.user_name));
        this.moderation.update();
      },
      decorate: (node, member) => this.moderation.decorateMember(node, member),
    });
    this.sync = new SyncChannel({
      ...common,
      onOpen: () => this.#requestStatuses(),
      handlers: {
        "status-request": (event) => {
          this.members.announceSoon();
          this.dm.handlePeerConnected(event);
        },
        "dm-open": (event) => this.dm.handleOpenRequest(event),
        "dm-notify": (event) => this.dm.handleNotify(event),
      },
    });
    this.dm = new DirectMessages({
      session,
      members: this.members,
      sync: this.sync,
      onErrorFrame,
      onShowPanel: onShowPeople,
      onDirectMessage: (message, open) =>
        this.#notifier?.alert({
          title: `Direct message from ${message.user_name}`,
          body: message.content,
          tag: `dm:${message.user_id}:${message.micros}`,
          onClick: () => {
            this.#onOpenRoom?.({ room_hash: this.#roomHash, room_name: this.#name });
            if (!this.#closed) open();
          },
        }),
    });
    const refreshMembers = () => this.members.refresh();
    // About us: our sockets are closing (4003), and the list would only be refused (403).
    const othersChanged = (event) => event.user_id !== session.user_id && refreshMembers();
    const bansChanged = (event) => {
      othersChanged(event);
      this.moderation.bansChanged();
    };
    this.events = new RoomEvents({
      ...common,
      // A role changed between the list's fetch and this socket's handshake would be lost.
      onOpen: refreshMembers,
      handlers: {
        "message-deleted": (event) => this.chat.removeMessage(event.message_id),
        "message-edited": (event) => this.chat.applyEdit(event),
        "room-renamed": (event) => {
          this.setName(event.room_name);
          onRenamed?.();
        },
        "role-changed": refreshMembers,
        "ownership-transferred": () => onRenamed?.(),
        "room-deleted": () => onEnding?.(),
        "member-kicked": (event) => {
          if (event.user_id === session.user_id) onEnding?.();
          othersChanged(event);
        },
        "member-banned": (event) => {
          if (event.user_id === session.user_id) onEnding?.();
          bansChanged(event);
        },
        "member-unbanned": bansChanged,
        "member-muted": refreshMembers,
        "member-unmuted": refreshMembers,
        "member-left": othersChanged,
      },
    });
    this.chat = new RoomChat({
      ...common,
      validator,
      decorateMessage: (node, message, own) => this.moderation.decorateMessage(node, message, own),
      onTyping: () => this.members.noteTyping(),
      onStoppedTyping: () => this.members.noteStoppedTyping(),
      getMembers: () => this.members.list(),
      lastReadId,
      onRead,
      onMention: (message) =>
        this.#notifier?.alert({
          title: this.#name || "Room",
          body: `${message.user_name}: ${message.content}`,
          tag: `mention:${this.#roomHash}:${message.id ?? message.micros}`,
          counted: true,
          onClick: () => this.#onOpenRoom?.({ room_hash: this.#roomHash, room_name: this.#name }),
        }),
    });
  }

  get roomHash() {
    return this.#roomHash;
  }

  setName(name) {
    this.#name = name || "";
    this.#ui.title.textContent = name || "Room";
    this.moderation?.update();
    setBaseTitle(name ? `${name} · pykcworkshop chat` : "pykcworkshop chat");
  }

  start() {
    const ui = this.#ui;
    ui.roomView.dataset.roomHash = this.#roomHash;
    ui.share.dataset.shareUrl = shareLink(this.#roomHash);
    ui.noRoom.hidden = true;
    ui.roomOpen.hidden = false;
    this.chat.start();
    this.members.start();
    this.sync.start();
    this.events.start();
  }

  close() {
    if (this.#closed) return;
    this.#closed = true;
    this.dm.close();
    this.chat.close();
    this.members.close();
    this.sync.close();
    this.events.close();
    this.moderation.close();
    const ui = this.#ui;
    delete ui.roomView.dataset.roomHash;
    delete ui.share.dataset.shareUrl;
    ui.roomOpen.hidden = true;
    ui.noRoom.hidden = false;
    ui.title.textContent = "";
    setBaseTitle("pykcworkshop chat");
  }

  focusComposer() {
    this.chat.focusComposer();
  }

  /**
   * Once both sockets involved are connected: tell the others our status and ask for theirs.
   * Our status went out when the status socket opened, but a member who connected before
   * our sync socket was up asked us in vain, and may have subscribed after we told.
   */
  #requestStatuses() {
    if (!this.members.isOpen || !this.sync.isOpen) return;
    this.members.announce();
    this.sync.send("status-request");
  }

  /**
   * A room socket gave up. Removed from the room or the room deleted: say so, for good.
   * Otherwise find out why over HTTP (a 401 there logs us out).
   */
  async #refused(reason, info) {
    if (this.#closed || this.#refusalReported) return;
    this.#refusalReported = true;
    if (info?.code === 4003 || info?.code === 4004) {
      this.#onRemoved?.(reason);
      return;
    }
    try {
      await api.getRoom(this.#roomHash);
      toast("The server refused the live connection to this room.", {
        kind: "error",
        key: "room-refused",
        timeout: 0,
      });
    } catch (error) {
      if (this.#closed || error.status === 401) return;
      toast(`This room is not available: ${error.message}`, {
        kind: "error",
        key: "room-refused",
      });
    }
  }
}
