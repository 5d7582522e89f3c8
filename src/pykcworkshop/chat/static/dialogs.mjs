// The page's small modal dialogs (native <dialog> in chat.html): "are you sure?" and the
// ban dialog with its optional reason. Each returns a promise of the answer. A modal
// <dialog> keeps the keyboard inside it and closes on Escape; when it closes, the focus goes
// back to where it was before it opened.

import { byId } from "./dom.mjs";
import { MAX_BAN_REASON_LENGTH } from "./constants.mjs";

/**
 * Show `dialog` modally; resolves with its returnValue ("" after Escape) once it closed,
 * and puts the focus back on the element that had it.
 */
export function showModal(dialog, { focus = null } = {}) {
  const before = document.activeElement;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        if (before instanceof HTMLElement && before.isConnected) before.focus();
        resolve(dialog.returnValue);
      },
      { once: true },
    );
    dialog.showModal();
    focus?.focus();
  });
}

/** Close the confirm and ban dialogs as if cancelled (the room they were about closed). */
export function cancelDialogs() {
  for (const id of ["confirm-dialog", "ban-dialog"]) {
    const dialog = byId(id);
    if (dialog.open) dialog.close("");
  }
}

/**
 * Ask before something that cannot be undone. Resolves true when the user pressed the
 * confirm button, false on Cancel or Escape.
 *
 * @param {object} options  title, text, confirmLabel ("OK")
 */
export async function confirmAction({ title, text, confirmLabel = "OK" }) {
  const dialog = byId("confirm-dialog");
  byId("confirm-title").textContent = title;
  byId("confirm-text").textContent = text;
  const accept = byId("confirm-accept");
  accept.textContent = confirmLabel;
  // The safe answer has the focus: Enter right away does not destroy anything.
  return (await showModal(dialog, { focus: byId("confirm-cancel") })) === "accept";
}

/**
 * Ask whether to ban `userName`, with an optional reason (at most 200 characters).
 * Resolves with the reason ("" for none), or null when the user cancelled.
 */
export async function askBanReason(userName) {
  const dialog = byId("ban-dialog");
  const reason = byId("ban-reason");
  const counter = byId("ban-counter");
  byId("ban-title").textContent = `Ban ${userName}`;
  reason.value = "";
  reason.maxLength = MAX_BAN_REASON_LENGTH;
  const count = () => {
    counter.textContent = `${reason.value.length} / ${MAX_BAN_REASON_LENGTH}`;
  };
  count();
  reason.addEventListener("input", count);
  try {
    const answer = await showModal(dialog, { focus: reason });
    return answer === "ban" ? reason.value.trim() : null;
  } finally {
    reason.removeEventListener("input", count);
  }
}
