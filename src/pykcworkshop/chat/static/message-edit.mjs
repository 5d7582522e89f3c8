// Editing your own messages: the "Edit" button on them, the inline editor that replaces
// the text while editing (Enter saves, Shift+Enter is a new line, Escape cancels), the
// PATCH /room/<hash>/messages/<id> call, and the "(edited)" mark next to the time
// (its title: when). Only the author gets the button; the server refuses anyone else.
// Errors go to a toast and the editor stays open with the text, to try again.

import * as api from "./api.mjs";
import { MAX_CONTENT_LENGTH } from "./constants.mjs";
import { el } from "./dom.mjs";
import { parseTimestamp } from "./message-data.mjs";
import { formatFullDate } from "./timeline.mjs";
import { toast } from "./toast.mjs";

/** The "(edited)" mark of a message, in a list (empty when it was never edited). */
export function editedMark(message) {
  const time = message.edited_at ? parseTimestamp(message.edited_at) : null;
  if (!time) return [];
  return [
    el("span", {
      class: "msg-edited",
      title: `Edited ${formatFullDate(time.ms)}`,
      dataset: { testid: "message-edited" },
      text: "(edited)",
    }),
  ];
}

/** The actions of one's own stored message: an "Edit" button (none for unsent or DMs). */
export function ownMessageActions(message) {
  if (message.id === null) return [];
  const edit = el("button", {
    type: "button",
    class: "msg-edit-action",
    "aria-label": "Edit message",
    dataset: { testid: "message-edit" },
    text: "Edit",
  });
  return [el("div", { class: "msg-actions" }, [edit])];
}

/**
 * Make the Edit buttons in `list` work (one delegated listener, ended by `signal`).
 *   roomHash          the room of the messages
 *   getMessage(id)    the shown message with this id ({content, …}), or null
 *   onEdited(message) the server's answer (a message object) to show
 */
export function bindMessageEdits(list, { roomHash, getMessage, onEdited, signal }) {
  list.addEventListener(
    "click",
    (event) => {
      const button = event.target.closest?.("[data-testid=message-edit]");
      const node = button?.closest("[data-testid=message]");
      if (!node || !list.contains(node) || node.querySelector("[data-testid=message-editor]"))
        return;
      const message = getMessage(Number(node.dataset.messageId));
      if (message) openEditor(list, node, message, { roomHash, onEdited });
    },
    { signal },
  );
}

/** Replace the message's text with an editor until it is saved or cancelled. */
function openEditor(list, node, message, { roomHash, onEdited }) {
  const content = node.querySelector("[data-testid=message-content]");
  const actions = node.querySelector(".msg-actions");
  const input = el("textarea", {
    class: "input msg-editor",
    rows: "2",
    maxlength: String(MAX_CONTENT_LENGTH),
    "aria-label": "Edit your message. Enter saves, Escape cancels.",
    dataset: { testid: "message-editor" },
  });
  input.value = message.content;
  const hint = el("div", { class: "msg-editor-hint", text: "Enter to save · Esc to cancel" });
  const editor = el("div", { class: "msg-editor-box" }, [input, hint]);
  content.hidden = true;
  if (actions) actions.hidden = true;
  content.after(editor);
  input.focus();
  input.setSelectionRange(input.value.length, input.value.length);

  let saving = false;
  const close = () => {
    editor.remove();
    content.hidden = false;
    if (actions) actions.hidden = false;
    node.querySelector("[data-testid=message-edit]")?.focus();
  };
  const save = async () => {
    if (saving) return;
    const text = input.value;
    if (text === message.content) return close();
    if (!text.trim()) {
      toast("A message cannot be empty: delete it instead.", {
        kind: "error",
        key: "message-edit",
      });
      return;
    }
    if (text.length > MAX_CONTENT_LENGTH) {
      toast(`A message is at most ${MAX_CONTENT_LENGTH} characters.`, {
        kind: "error",
        key: "message-edit",
      });
      return;
    }
    saving = true;
    input.setAttribute("aria-busy", "true");
    try {
      const edited = await api.editMessage(roomHash, message.id, text);
      close();
      onEdited(edited);
      // Drawn again with the new text: keep the focus on its Edit button.
      list.querySelector(`[data-message-id="${message.id}"] [data-testid=message-edit]`)?.focus();
    } catch (error) {
      toast(`Could not edit the message: ${error.message}`, { kind: "error", key: "message-edit" });
      input.removeAttribute("aria-busy");
      saving = false;
    }
  };
  input.addEventListener("keydown", (event) => {
    // The list's other keys (and the composer's) must not see these.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      event.stopPropagation();
      save();
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      close();
    }
  });
}
