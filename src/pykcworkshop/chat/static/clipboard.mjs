// Copy text to the clipboard. The Clipboard API needs a secure context (https or
// localhost); on plain http (e.g. a workshop server on a LAN address) we fall back to
// selecting a temporary textarea and execCommand("copy").

import { el } from "./dom.mjs";

/**
 * Copy `text`; resolves to true on success.
 * `host` is where the temporary textarea goes: pass an open <dialog>, because everything
 * outside a modal dialog is inert and cannot be selected.
 */
export async function copyText(text, host = document.body) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // Permission denied or not focused: try the fallback.
    }
  }
  const previousFocus = document.activeElement;
  const area = el("textarea", {
    class: "sr-only",
    readonly: true,
    "aria-hidden": "true",
  });
  area.value = text;
  host.append(area);
  area.select();
  let copied = false;
  try {
    copied = document.execCommand("copy");
  } catch {
    copied = false;
  }
  area.remove();
  if (previousFocus instanceof HTMLElement) previousFocus.focus();
  return copied;
}
