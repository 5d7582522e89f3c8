// Toast notifications in the #toasts region (errors from the server, "copied", new direct
// messages…). Toasts never carry markup: the message is set as text.

import { byId, el } from "./dom.mjs";

const MAX_TOASTS = 4;
const DEFAULT_TIMEOUT_MS = { info: 5000, success: 3000, error: 8000 };

let region = null;
const byKey = new Map(); // key → toast element, so a repeated toast replaces the older one

function container() {
  region ??= byId("toasts");
  return region;
}

function dismiss(node) {
  clearTimeout(node._timer);
  if (node.dataset.key) byKey.delete(node.dataset.key);
  node.remove();
}

/**
 * Show a toast.
 *
 * @param {string} message  plain text
 * @param {object} options
 *   kind     "info" | "success" | "error"
 *   key      toasts with the same key replace each other (default: the message itself)
 *   timeout  milliseconds before it goes away by itself (0 = stays until dismissed)
 *   action   {label, onClick} for a button inside the toast
 */
export function toast(
  message,
  { kind = "info", key = `${kind}:${message}`, timeout, action } = {},
) {
  const previous = byKey.get(key);
  if (previous) dismiss(previous);

  const node = el("div", {
    class: `toast toast-${kind}`,
    role: kind === "error" ? "alert" : "status",
    dataset: { testid: "toast", kind, key },
  });
  node.append(el("p", { class: "toast-text", text: message }));
  if (action) {
    node.append(
      el("button", {
        type: "button",
        class: "toast-action",
        text: action.label,
        onclick: () => {
          dismiss(node);
          action.onClick();
        },
      }),
    );
  }
  node.append(
    el("button", {
      type: "button",
      class: "toast-close",
      "aria-label": "Dismiss notification",
      text: "×",
      onclick: () => dismiss(node),
    }),
  );

  const ms = timeout ?? DEFAULT_TIMEOUT_MS[kind] ?? 5000;
  const arm = () => {
    clearTimeout(node._timer);
    if (ms > 0) node._timer = setTimeout(() => dismiss(node), ms);
  };
  // Do not let a toast vanish while someone is reading or using it.
  node.addEventListener("mouseenter", () => clearTimeout(node._timer));
  node.addEventListener("mouseleave", arm);
  node.addEventListener("focusin", () => clearTimeout(node._timer));
  node.addEventListener("focusout", arm);
  arm();

  const list = container();
  list.append(node);
  byKey.set(key, node);
  while (list.children.length > MAX_TOASTS) dismiss(list.firstElementChild);
  return node;
}

/** Remove every toast (e.g. on logout). */
export function clearToasts() {
  for (const node of [...container().children]) dismiss(node);
}
