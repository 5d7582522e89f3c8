// The actions on a room message: "Delete", on your own messages, and on everyone's for
// moderators and the owner. MessageList calls decorate() for each message it draws. The
// button is a single node (its label is CSS text, its name the aria-label), because the
// list's DOM stays bounded (constants.mjs, MAX_RENDERED_MESSAGES). Deleting asks first;
// the message then vanishes from every open view (the room-events socket tells the others).

import * as api from "./api.mjs";
import { confirmAction } from "./dialogs.mjs";
import { el } from "./dom.mjs";
import { canDeleteMessage } from "./permissions.mjs";
import { toast } from "./toast.mjs";

const PREVIEW_CHARS = 80;

export class MessageActions {
  #roomHash;
  #list;
  #getRole;
  #onDeleted;
  #abort = new AbortController();

  /**
   * @param {object} options
   *   roomHash, list (the room's <ol> of messages)
   *   getRole()          the viewer's role in the room
   *   onDeleted(id)      a message was deleted here (take it out of the view)
   */
  constructor({ roomHash, list, getRole, onDeleted }) {
    this.#roomHash = roomHash;
    this.#list = list;
    this.#getRole = getRole;
    this.#onDeleted = onDeleted;
    list.addEventListener(
      "click",
      (event) => {
        const button = event.target.closest?.('[data-testid="message-delete"]');
        if (button && list.contains(button)) this.#delete(button.closest("[data-message-id]"));
      },
      { signal: this.#abort.signal },
    );
  }

  /** Add the actions to a message's node (`own`: the viewer wrote it). */
  decorate(node, message, own) {
    // System messages are not anyone's to delete; without an id there is nothing to name.
    if (message.system || !Number.isInteger(message.id)) return;
    node.append(
      el("button", {
        type: "button",
        class: "msg-action msg-delete",
        title: "Delete message",
        "aria-label": own ? "Delete your message" : `Delete message from ${message.user_name}`,
        dataset: { testid: "message-delete" },
        hidden: !canDeleteMessage(this.#getRole(), { own }),
      }),
    );
  }

  /** The viewer's role changed: show or hide Delete on other people's messages. */
  update() {
    const allowed = canDeleteMessage(this.#getRole(), { own: false });
    for (const button of this.#list.querySelectorAll(
      '[data-own="false"] [data-testid="message-delete"]',
    )) {
      button.hidden = !allowed;
    }
  }

  destroy() {
    this.#abort.abort();
  }

  async #delete(node) {
    const id = Number(node?.dataset.messageId);
    if (!Number.isInteger(id)) return;
    const text = node.querySelector('[data-testid="message-content"]')?.textContent ?? "";
    const preview = text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}…` : text;
    const own = node.dataset.own === "true";
    const sure = await confirmAction({
      title: "Delete this message?",
      text: `“${preview}”${own ? "" : ` by ${node.dataset.author}`} will be deleted for everyone.`,
      confirmLabel: "Delete",
    });
    if (!sure) return;
    try {
      await api.deleteMessage(this.#roomHash, id);
    } catch (error) {
      if (error.status !== 401) {
        toast(`Could not delete the message: ${error.message}`, { kind: "error" });
      }
      return;
    }
    const focusWasHere = node.contains(document.activeElement);
    this.#onDeleted?.(id);
    // The focus was on the button that is gone now: keep it in the conversation.
    if (focusWasHere) this.#list.closest("[tabindex]")?.focus();
  }
}
