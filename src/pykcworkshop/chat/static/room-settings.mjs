// The room settings dialog (#room-settings-dialog, opened by #room-settings in the room
// header). What it offers depends on the viewer's role: the owner renames the room and may
// delete it (a second step asks for the room's name); moderators and the owner see the ban
// list and lift bans; everyone but the owner may leave the room (the owner is told to
// transfer ownership first).

import * as api from "./api.mjs";
import { confirmAction, showModal } from "./dialogs.mjs";
import { byId, el } from "./dom.mjs";
import { canModerate } from "./permissions.mjs";
import { toast } from "./toast.mjs";

const ids = {
  dialog: "room-settings-dialog",
  open: "room-settings",
  close: "room-settings-close",
  renameForm: "room-rename-form",
  renameInput: "room-rename-input",
  renameSubmit: "room-rename-submit",
  renameReason: "room-rename-reason",
  bansSection: "room-bans-section",
  bans: "room-bans",
  bansEmpty: "room-bans-empty",
  leave: "room-leave",
  leaveNote: "room-leave-note",
  deleteSection: "room-delete-section",
  deleteStart: "room-delete",
  deleteConfirm: "room-delete-confirm",
  deleteExpected: "room-delete-expected",
  deleteName: "room-delete-name",
  deleteCancel: "room-delete-cancel",
  deleteSubmit: "room-delete-submit",
};

export class RoomSettings {
  #roomHash;
  #getRole;
  #getName;
  #onRenamed;
  #onGone;
  #ui = Object.fromEntries(Object.entries(ids).map(([key, id]) => [key, byId(id)]));
  #abort = new AbortController();

  /**
   * @param {object} options
   *   roomHash
   *   getRole(), getName()  the viewer's role and the room's current name
   *   onRenamed(name)       we renamed the room
   *   onGone(message)       we left or deleted the room (close its view, say `message`)
   */
  constructor({ roomHash, getRole, getName, onRenamed, onGone }) {
    this.#roomHash = roomHash;
    this.#getRole = getRole;
    this.#getName = getName;
    this.#onRenamed = onRenamed;
    this.#onGone = onGone;
    const ui = this.#ui;
    const on = (node, type, handler) =>
      node.addEventListener(type, handler, { signal: this.#abort.signal });
    ui.open.hidden = false;
    on(ui.open, "click", () => this.open());
    on(ui.close, "click", () => ui.dialog.close());
    on(ui.renameForm, "submit", (event) => {
      event.preventDefault();
      this.#rename();
    });
    on(ui.renameInput, "input", () => (ui.renameReason.textContent = ""));
    on(ui.bans, "click", (event) => {
      const button = event.target.closest?.('[data-testid="unban"]');
      if (button) this.#unban(Number(button.closest("[data-user-id]").dataset.userId));
    });
    on(ui.leave, "click", () => this.#leave());
    on(ui.deleteStart, "click", () => this.#showDeleteStep(true));
    on(ui.deleteCancel, "click", () => this.#showDeleteStep(false));
    on(ui.deleteName, "input", () => this.#checkDeleteName());
    on(ui.deleteName, "keydown", (event) => {
      if (event.key === "Enter" && !ui.deleteSubmit.disabled) this.#delete();
    });
    on(ui.deleteSubmit, "click", () => this.#delete());
  }

  get isOpen() {
    return this.#ui.dialog.open;
  }

  /** Show the dialog (its parts for the viewer's role). */
  open() {
    if (this.isOpen) return;
    this.#render();
    this.#ui.renameInput.value = this.#getName();
    this.#ui.renameReason.textContent = "";
    this.#showDeleteStep(false, { focus: false });
    showModal(this.#ui.dialog);
  }

  /** Roles or the name changed: show what the viewer may do now. */
  update() {
    if (this.isOpen) this.#render();
  }

  /** Someone was banned or unbanned: reload the list if it is shown. */
  bansChanged() {
    if (this.isOpen && canModerate(this.#getRole())) this.#loadBans();
  }

  /** The room was closed: close the dialog, drop the listeners, hide the header button. */
  destroy() {
    this.#abort.abort();
    if (this.isOpen) this.#ui.dialog.close();
    this.#ui.open.hidden = true;
    this.#ui.bans.replaceChildren();
  }

  #render() {
    const ui = this.#ui;
    const role = this.#getRole();
    const owner = role === "owner";
    ui.renameForm.hidden = !owner;
    ui.deleteSection.hidden = !owner;
    ui.bansSection.hidden = !canModerate(role);
    if (canModerate(role)) this.#loadBans();
    ui.leave.disabled = owner;
    ui.leaveNote.textContent = owner
      ? "You own this room, so you cannot leave it. Transfer ownership to another member first (in their menu in the member list), or delete the room."
      : "You stop receiving its messages. You can join again with the room key, unless you are banned.";
    ui.deleteExpected.textContent = this.#getName();
  }

  async #rename() {
    const ui = this.#ui;
    const name = ui.renameInput.value.trim();
    if (!name) {
      ui.renameReason.textContent = "Enter a name.";
      return;
    }
    ui.renameSubmit.disabled = true;
    try {
      const room = await api.renameRoom(this.#roomHash, name);
      this.#onRenamed?.(room?.room_name ?? name);
      ui.renameInput.value = room?.room_name ?? name;
      ui.deleteExpected.textContent = ui.renameInput.value;
      toast("The room was renamed.", { kind: "success" });
    } catch (error) {
      if (error.status !== 401) ui.renameReason.textContent = error.message;
    } finally {
      ui.renameSubmit.disabled = false;
    }
  }

  async #loadBans() {
    const ui = this.#ui;
    let bans;
    try {
      bans = await api.roomBans(this.#roomHash);
    } catch (error) {
      if (error.status !== 401)
        toast(`Could not load the bans: ${error.message}`, { kind: "error" });
      return;
    }
    if (!Array.isArray(bans)) return;
    ui.bans.replaceChildren(...bans.map(banNode));
    ui.bansEmpty.hidden = bans.length > 0;
  }

  async #unban(userId) {
    try {
      await api.unbanMember(this.#roomHash, userId);
      toast("The ban was lifted: they may join again.", { kind: "success" });
    } catch (error) {
      if (error.status !== 401)
        toast(`Could not lift the ban: ${error.message}`, { kind: "error" });
    }
    await this.#loadBans();
    // The button that had the focus is gone with its entry.
    if (!this.#ui.dialog.contains(document.activeElement)) this.#ui.close.focus();
  }

  async #leave() {
    const name = this.#getName();
    const sure = await confirmAction({
      title: `Leave ${name}?`,
      text: "You will no longer see its messages. You can join again with the room key.",
      confirmLabel: "Leave room",
    });
    if (!sure) return;
    try {
      await api.leaveRoom(this.#roomHash);
    } catch (error) {
      if (error.status !== 401)
        toast(`Could not leave the room: ${error.message}`, { kind: "error" });
      return;
    }
    this.#ui.dialog.close();
    this.#onGone?.(`You left ${name}.`);
  }

  #showDeleteStep(shown, { focus = true } = {}) {
    const ui = this.#ui;
    ui.deleteConfirm.hidden = !shown;
    ui.deleteStart.hidden = shown;
    ui.deleteName.value = "";
    this.#checkDeleteName();
    if (focus) (shown ? ui.deleteName : ui.deleteStart).focus();
  }

  #checkDeleteName() {
    const ui = this.#ui;
    ui.deleteSubmit.disabled = ui.deleteName.value.trim() !== this.#getName();
  }

  async #delete() {
    const ui = this.#ui;
    const name = this.#getName();
    ui.deleteSubmit.disabled = true;
    try {
      await api.deleteRoom(this.#roomHash);
    } catch (error) {
      if (error.status !== 401)
        toast(`Could not delete the room: ${error.message}`, { kind: "error" });
      this.#checkDeleteName();
      return;
    }
    ui.dialog.close();
    this.#onGone?.(`${name} was deleted.`);
  }
}

/** A ban list entry: who, by whom and why, and an Unban button. */
function banNode(ban) {
  const by = ban.by_name ? ` by ${ban.by_name}` : "";
  const why = ban.reason ? `: ${ban.reason}` : "";
  return el("li", { class: "ban-item", dataset: { testid: "ban", userId: String(ban.user_id) } }, [
    el("div", { class: "min-w-0 flex-1" }, [
      el("p", { class: "truncate font-semibold", text: ban.user_name }),
      el("p", { class: "hint mt-0 break-words", text: `Banned${by}${why}` }),
    ]),
    el("button", {
      type: "button",
      class: "btn btn-secondary btn-small",
      "aria-label": `Unban ${ban.user_name}`,
      dataset: { testid: "unban" },
      text: "Unban",
    }),
  ]);
}
