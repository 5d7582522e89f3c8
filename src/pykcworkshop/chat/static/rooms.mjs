// The rooms sidebar: the joined and owned room lists, creating a room (with live name
// checks), joining one by its key or share link, and what "joining" means when we are
// already a member (just open it).

import * as api from "./api.mjs";
import { byId, el } from "./dom.mjs";
import { countLabel } from "./unread.mjs";
import { nameProblem } from "./validation.mjs";

/** Pull a room hash out of what was pasted: a bare key or a share link (…/chat/?room=KEY). */
export function roomHashFrom(text) {
  const value = text.trim();
  if (!value) return "";
  if (value.includes("room=")) {
    try {
      const url = new URL(value, window.location.origin);
      return (url.searchParams.get("room") ?? "").trim();
    } catch {
      return "";
    }
  }
  return value;
}

/** The link that opens (and joins) a room. */
export function shareLink(roomHash) {
  return `${window.location.origin}/chat/?room=${encodeURIComponent(roomHash)}`;
}

function validRooms(list) {
  if (!Array.isArray(list)) return [];
  return list.filter(
    (room) => room && typeof room.room_hash === "string" && typeof room.room_name === "string",
  );
}

export class RoomsSidebar {
  #ui;
  #getSession;
  #onOpenRoom;
  #joined = [];
  #owned = [];
  #active = null;
  #createVerdict = { failed: true, reason: "", pending: false };
  #createField;
  #onRoomsChanged;
  #counts = new Map();

  /**
   * @param {object} options
   *   validator     FormValidator
   *   getSession()  the current session (for the create-room check's user_id)
   *   onOpenRoom({room_hash, room_name})
   *   onRoomsChanged(roomHashes)  after each refresh: the joined rooms' hashes
   */
  constructor({ validator, getSession, onOpenRoom, onRoomsChanged }) {
    this.#getSession = getSession;
    this.#onOpenRoom = onOpenRoom;
    this.#onRoomsChanged = onRoomsChanged;
    this.#ui = {
      joined: byId("joined-rooms"),
      owned: byId("owned-rooms"),
      createForm: byId("room-create-form"),
      createName: byId("room-create-name"),
      createSubmit: byId("room-create-submit"),
      createReason: byId("room-create-reason"),
      joinForm: byId("room-join-form"),
      joinHash: byId("room-join-hash"),
      joinSubmit: byId("room-join-submit"),
      joinReason: byId("room-join-reason"),
    };

    this.#createField = validator.field({
      type: "create-room",
      formData: () => ({
        room_name: this.#ui.createName.value,
        user_id: this.#getSession()?.user_id ?? null,
      }),
      local: ({ room_name }) => nameProblem(room_name, "room name"),
      onResult: (verdict) => {
        this.#createVerdict = verdict;
        this.#renderCreate();
      },
    });
    this.#bind();
  }

  /** Reload both lists from the API. */
  async refresh() {
    const [joined, owned] = await Promise.all([api.joinedRooms(), api.ownedRooms()]);
    this.#joined = validRooms(joined);
    this.#owned = validRooms(owned);
    this.#render();
    this.#onRoomsChanged?.(this.#joined.map((room) => room.room_hash));
  }

  /** Show unread and mention counts (a Map room_hash → {unread, mentions}) on the rooms. */
  setCounts(counts) {
    this.#counts = counts;
    for (const button of document.querySelectorAll('[data-testid="room"]'))
      this.#renderCounts(button);
  }

  /** Name of a room we know from the lists, or null. */
  nameOf(roomHash) {
    const room = [...this.#joined, ...this.#owned].find((r) => r.room_hash === roomHash);
    return room ? room.room_name : null;
  }

  isJoined(roomHash) {
    return this.#joined.some((room) => room.room_hash === roomHash);
  }

  /** Mark the open room in the lists. */
  setActive(roomHash) {
    this.#active = roomHash;
    for (const button of document.querySelectorAll('[data-testid="room"]')) {
      if (button.dataset.roomHash === roomHash) button.setAttribute("aria-current", "true");
      else button.removeAttribute("aria-current");
    }
  }

  /** Empty the lists and forms (logout). */
  reset() {
    this.#joined = [];
    this.#owned = [];
    this.#active = null;
    this.#counts = new Map();
    this.#ui.createName.value = "";
    this.#ui.joinHash.value = "";
    this.#ui.joinReason.textContent = "";
    this.#createVerdict = { failed: true, reason: "", pending: false };
    this.#renderCreate();
    this.#renderJoin();
    this.#render();
  }

  /**
   * Join a room and open it. Joining a room we are already in is not an error for the
   * user: we just open it. Returns true when the room was opened.
   */
  async join(roomHash) {
    if (this.isJoined(roomHash)) {
      // Already a member (e.g. our own share link): no request, no 400 in the console.
      this.#onOpenRoom({ room_hash: roomHash, room_name: this.nameOf(roomHash) ?? "Room" });
      return true;
    }
    let name = null;
    try {
      name = (await api.joinRoom(roomHash))?.room_name ?? null;
    } catch (error) {
      if (error.status !== 400) throw error;
      // 400 is "already a member" or "unknown room": the joined list tells which.
      await this.refresh();
      if (!this.isJoined(roomHash)) throw error;
    }
    if (name !== null) await this.refresh();
    this.#onOpenRoom({
      room_hash: roomHash,
      room_name: name ?? this.nameOf(roomHash) ?? "Room",
    });
    return true;
  }

  #bind() {
    const ui = this.#ui;
    ui.createName.addEventListener("input", () => {
      this.#createField.check();
      this.#renderCreate();
    });
    ui.createForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.#create();
    });
    ui.joinHash.addEventListener("input", () => {
      ui.joinReason.textContent = "";
      this.#renderJoin();
    });
    ui.joinForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.#joinFromForm();
    });
  }

  async #create() {
    const ui = this.#ui;
    if (ui.createSubmit.disabled) return;
    const roomName = ui.createName.value.trim();
    ui.createSubmit.disabled = true;
    try {
      const room = await api.createRoom(roomName);
      ui.createName.value = "";
      this.#createVerdict = { failed: true, reason: "", pending: false };
      await this.refresh();
      this.#onOpenRoom(room);
    } catch (error) {
      if (error.status === 401) return; // the app handles this by logging out
      this.#createVerdict = {
        failed: true,
        reason: error.message,
        pending: false,
      };
    } finally {
      this.#renderCreate();
    }
  }

  async #joinFromForm() {
    const ui = this.#ui;
    const roomHash = roomHashFrom(ui.joinHash.value);
    if (!roomHash) {
      ui.joinReason.textContent = "Paste a room key or a share link.";
      return;
    }
    ui.joinSubmit.disabled = true;
    try {
      await this.join(roomHash);
      ui.joinHash.value = "";
      ui.joinReason.textContent = "";
    } catch (error) {
      if (error.status !== 401) ui.joinReason.textContent = error.message;
    } finally {
      this.#renderJoin();
    }
  }

  #renderCreate() {
    const ui = this.#ui;
    const { failed, reason } = this.#createVerdict;
    const typed = ui.createName.value !== "";
    ui.createReason.textContent = typed && failed ? reason : "";
    ui.createName.setAttribute("aria-invalid", String(typed && failed));
    ui.createSubmit.disabled = failed || !typed;
  }

  #renderJoin() {
    this.#ui.joinSubmit.disabled = roomHashFrom(this.#ui.joinHash.value) === "";
  }

  #render() {
    this.#renderList(this.#ui.joined, this.#joined, "You have not joined any rooms yet.");
    this.#renderList(this.#ui.owned, this.#owned, "You do not own any rooms yet.");
    this.setActive(this.#active);
  }

  /** A room button's badges and label: "@2" (mentions, highlighted) and the unread count. */
  #renderCounts(button) {
    const counts = this.#counts.get(button.dataset.roomHash);
    const unread = countLabel(counts?.unread ?? 0);
    const mentions = countLabel(counts?.mentions ?? 0);
    const unreadBadge = button.querySelector('[data-testid="room-unread"]');
    const mentionBadge = button.querySelector('[data-testid="room-mentions"]');
    unreadBadge.textContent = unread;
    unreadBadge.hidden = unread === "";
    mentionBadge.textContent = mentions ? `@${mentions}` : "";
    mentionBadge.hidden = mentions === "";
    button.dataset.unread = String(unread !== "");
    const parts = [button.title];
    if (unread) parts.push(`${unread} unread`);
    if (mentions) parts.push(`${mentions} ${mentions === "1" ? "mention" : "mentions"}`);
    button.setAttribute("aria-label", parts.join(", "));
  }

  #renderList(container, rooms, emptyText) {
    const sorted = [...rooms].sort((a, b) =>
      a.room_name.localeCompare(b.room_name, undefined, {
        sensitivity: "base",
      }),
    );
    const focusedHash = container.contains(document.activeElement)
      ? document.activeElement.dataset.roomHash
      : null;
    if (sorted.length === 0) {
      container.replaceChildren(el("li", { class: "list-empty", text: emptyText }));
      return;
    }
    container.replaceChildren(
      ...sorted.map((room) =>
        el("li", {}, [
          el(
            "button",
            {
              type: "button",
              class: "room-item",
              dataset: { testid: "room", roomHash: room.room_hash },
              title: room.room_name,
              onclick: () => this.#onOpenRoom(room),
            },
            [
              el("span", {
                class: "text-slate-400",
                "aria-hidden": "true",
                text: "#",
              }),
              el("span", { class: "truncate", text: room.room_name }),
              el("span", { class: "room-badges" }, [
                el("span", {
                  class: "room-mentions",
                  dataset: { testid: "room-mentions" },
                  hidden: true,
                }),
                el("span", {
                  class: "room-unread",
                  dataset: { testid: "room-unread" },
                  hidden: true,
                }),
              ]),
            ],
          ),
        ]),
      ),
    );
    for (const button of container.querySelectorAll('[data-testid="room"]'))
      this.#renderCounts(button);
    if (focusedHash) {
      container.querySelector(`[data-room-hash="${CSS.escape(focusedHash)}"]`)?.focus();
    }
  }
}
