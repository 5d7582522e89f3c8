// The per-member actions menu of the member list, for moderators and the owner: kick, ban
// (with an optional reason), mute for a while or unmute, and for the owner promote/demote
// and transfer ownership. Each entry of someone the viewer may act on gets an "Actions for
// <name>" button (permissions.mjs decides); it opens one shared menu (#member-menu) that
// works with the keyboard like a native menu: arrows move, Escape closes, focus returns.

import * as api from "./api.mjs";
import { askBanReason, confirmAction } from "./dialogs.mjs";
import { byId, el } from "./dom.mjs";
import { MUTE_CHOICES, memberActions, untilText } from "./permissions.mjs";
import { toast } from "./toast.mjs";

const LABELS = {
  kick: "Kick from room",
  ban: "Ban…",
  unmute: "Unmute",
  promote: "Make moderator",
  demote: "Make member (remove moderator)",
  transfer: "Transfer ownership…",
  ...Object.fromEntries(MUTE_CHOICES.map(({ minutes, label }) => [`mute-${minutes}`, label])),
};
/** Menu groups: a separator goes between actions of different groups. */
const GROUP = { kick: 0, ban: 0, unmute: 1, promote: 2, demote: 2, transfer: 2 };
const groupOf = (action) => GROUP[action] ?? 1;
/** For "Could not <verb> <name>: <why>" when the server refuses. */
const VERBS = { promote: "promote", demote: "demote", transfer: "transfer the room to" };
const verbOf = (action) => VERBS[action] ?? action.replace(/-\d+$/, "");

export class MemberMenu {
  #roomHash;
  #myId;
  #getRole;
  #getMember;
  #onChanged;
  #menu = byId("member-menu");
  #trigger = null;
  #target = null;
  #abort = new AbortController();

  /**
   * @param {object} options
   *   roomHash, myId       the room and the viewer
   *   getRole()            the viewer's role in the room
   *   getMember(userId)    {user_id, user_name, role, muted_until} of a member, or null
   *   onChanged()          an action succeeded (the member list should reload)
   */
  constructor({ roomHash, myId, getRole, getMember, onChanged }) {
    this.#roomHash = roomHash;
    this.#myId = myId;
    this.#getRole = getRole;
    this.#getMember = getMember;
    this.#onChanged = onChanged;
    const { signal } = this.#abort;
    this.#menu.addEventListener("keydown", (event) => this.#keydown(event), { signal });
    this.#menu.addEventListener("click", (event) => this.#clicked(event), { signal });
    // A press anywhere else closes it, like a native menu (without moving the focus).
    document.addEventListener(
      "pointerdown",
      (event) => {
        if (this.isOpen && !this.#menu.contains(event.target) && event.target !== this.#trigger)
          this.close({ refocus: false });
      },
      { capture: true, signal },
    );
    // It is placed for the button where it was: moving things under it closes it.
    window.addEventListener("resize", () => this.close({ refocus: false }), { signal });
  }

  get isOpen() {
    return !this.#menu.hidden;
  }

  /**
   * Give a member's list item (`node`) an "Actions for <name>" button when the viewer may
   * act on them, or take it away when not (any more). Call whenever roles may have changed.
   */
  decorate(node, member) {
    let button = node.querySelector('[data-testid="member-actions"]');
    const allowed = this.#actionsFor(member).length > 0;
    if (!allowed) {
      if (button === this.#trigger) this.close({ refocus: false });
      button?.remove();
      return;
    }
    if (!button) {
      button = el("button", {
        type: "button",
        class: "member-menu-btn",
        "aria-haspopup": "menu",
        "aria-expanded": "false",
        "aria-controls": "member-menu",
        dataset: { testid: "member-actions" },
        text: "⋯",
        onclick: (event) => this.#toggle(event.currentTarget, member.user_id),
      });
      node.append(button);
    }
    button.setAttribute("aria-label", `Actions for ${member.user_name}`);
  }

  /** Close the menu; `refocus`: put the focus back on its button. */
  close({ refocus = true } = {}) {
    if (!this.isOpen) return;
    this.#menu.hidden = true;
    this.#menu.replaceChildren();
    const trigger = this.#trigger;
    this.#trigger = null;
    this.#target = null;
    trigger?.setAttribute("aria-expanded", "false");
    if (refocus && trigger?.isConnected) trigger.focus();
  }

  /** Close and stop listening (the room was closed). */
  destroy() {
    this.close({ refocus: false });
    this.#abort.abort();
  }

  #actionsFor(member) {
    if (!member) return [];
    return memberActions(this.#getRole(), member, { self: member.user_id === this.#myId });
  }

  #toggle(button, userId) {
    const reopen = this.#trigger !== button;
    this.close({ refocus: !reopen });
    if (reopen) this.#open(button, userId);
  }

  #open(button, userId) {
    const member = this.#getMember(userId);
    const actions = this.#actionsFor(member);
    if (actions.length === 0) return;
    this.#trigger = button;
    this.#target = member;
    const items = [];
    actions.forEach((action, index) => {
      if (index > 0 && groupOf(action) !== groupOf(actions[index - 1])) {
        items.push(el("div", { role: "separator", class: "menu-separator" }));
      }
      items.push(
        el("button", {
          type: "button",
          role: "menuitem",
          tabindex: "-1",
          class: action === "ban" || action === "kick" ? "menu-item menu-item-danger" : "menu-item",
          dataset: { testid: "member-action", action },
          text: LABELS[action],
        }),
      );
    });
    this.#menu.replaceChildren(...items);
    this.#menu.setAttribute("aria-label", `Actions for ${member.user_name}`);
    this.#menu.hidden = false;
    button.setAttribute("aria-expanded", "true");
    this.#place(button);
    this.#items()[0]?.focus();
  }

  /** Below the button, right-aligned with it; above it when there is no room below. */
  #place(button) {
    const rect = button.getBoundingClientRect();
    const menu = this.#menu;
    const { offsetWidth: width, offsetHeight: height } = menu;
    const left = Math.max(8, Math.min(rect.right - width, window.innerWidth - width - 8));
    let top = rect.bottom + 4;
    if (top + height > window.innerHeight - 8) top = Math.max(8, rect.top - height - 4);
    menu.style.left = `${left}px`;
    menu.style.top = `${top}px`;
  }

  #items() {
    return [...this.#menu.querySelectorAll('[role="menuitem"]')];
  }

  #keydown(event) {
    const items = this.#items();
    const at = items.indexOf(document.activeElement);
    const go = (index) => {
      event.preventDefault();
      items[(index + items.length) % items.length]?.focus();
    };
    if (event.key === "ArrowDown") go(at + 1);
    else if (event.key === "ArrowUp") go(at - 1);
    else if (event.key === "Home") go(0);
    else if (event.key === "End") go(items.length - 1);
    else if (event.key === "Escape" || event.key === "Tab") {
      event.preventDefault();
      event.stopPropagation();
      this.close();
    }
  }

  #clicked(event) {
    const item = event.target.closest?.('[role="menuitem"]');
    if (!item) return;
    const target = this.#target;
    // Back on the member's button first: a dialog the action opens returns the focus there.
    this.close();
    this.#run(item.dataset.action, target);
  }

  async #run(action, member) {
    const { user_id: id, user_name: name } = member;
    const room = this.#roomHash;
    try {
      if (action === "kick") {
        const sure = await confirmAction({
          title: `Kick ${name}?`,
          text: `${name} is removed from the room. They can join again with the room key.`,
          confirmLabel: "Kick",
        });
        if (!sure) return;
        await api.kickMember(room, id);
        toast(`${name} was removed from the room.`, { kind: "success" });
      } else if (action === "ban") {
        const reason = await askBanReason(name);
        if (reason === null) return;
        await api.banMember(room, id, reason);
        toast(`${name} was banned from the room.`, { kind: "success" });
      } else if (action.startsWith("mute-")) {
        const { muted_until: until } = await api.muteMember(room, id, Number(action.slice(5)));
        toast(`${name} is muted until ${untilText(until)}.`, { kind: "success" });
      } else if (action === "unmute") {
        await api.unmuteMember(room, id);
        toast(`${name} can write again.`, { kind: "success" });
      } else if (action === "promote" || action === "demote") {
        const role = action === "promote" ? "moderator" : "member";
        await api.setMemberRole(room, id, role);
        toast(`${name} is now a ${role}.`, { kind: "success" });
      } else if (action === "transfer") {
        const sure = await confirmAction({
          title: `Make ${name} the owner?`,
          text: `${name} will own the room: they can rename or delete it and change roles. You become a moderator, and cannot undo this yourself.`,
          confirmLabel: "Transfer ownership",
        });
        if (!sure) return;
        await api.transferRoom(room, id);
        toast(`${name} now owns the room.`, { kind: "success" });
      }
      this.#onChanged?.();
    } catch (error) {
      if (error.status !== 401) {
        toast(`Could not ${verbOf(action)} ${name}: ${error.message}`, { kind: "error" });
      }
    }
  }
}
