// The "New messages" divider: above the first message, of those shown, that is newer than
// the read position the room had when it was opened (our own and System messages never
// count). If the first unread message is older than everything loaded, it sits above the
// oldest loaded one, and moves up as older pages load (they load by themselves while the
// divider is near the top).

import { el } from "./dom.mjs";

/** Whether a message node (data-message-id, data-own, data-system) is unread after `lastReadId`. */
export function isUnreadNode(dataset, lastReadId) {
  if (dataset.own === "true" || dataset.system === "true") return false;
  const id = Number(dataset.messageId);
  return Number.isInteger(id) && id > lastReadId;
}

/**
 * Put the divider above the first unread message of `list` (an <ol> of message nodes);
 * returns the divider, or null when nothing shown is unread. Safe to call after every change.
 */
export function placeDivider(list, lastReadId) {
  list.querySelector("[data-testid=unread-divider]")?.remove();
  if (!Number.isInteger(lastReadId)) return null;
  for (const node of list.querySelectorAll("[data-testid=message]")) {
    if (!isUnreadNode(node.dataset, lastReadId)) continue;
    const divider = el("li", { class: "unread-divider", dataset: { testid: "unread-divider" } }, [
      el("span", { class: "unread-divider-label", text: "New messages" }),
    ]);
    const previous = node.previousElementSibling;
    const above = previous?.dataset.testid === "day-separator" ? previous : node;
    list.insertBefore(divider, above);
    return divider;
  }
  return null;
}
