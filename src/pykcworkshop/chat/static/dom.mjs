// Small DOM helpers: build elements without HTML strings, look up required elements, tell
// whether an element is on screen, and keep a reading position while content changes. Text
// always goes in as text nodes, never as markup.

/**
 * Create an element.
 *
 *   el("button", { class: "btn", type: "button", text: "Send", onclick: send })
 *
 * Props: `class`, `text` (textContent), `dataset` (object), `on<event>` (a function, added
 * with addEventListener), anything else becomes an attribute (`true` → empty attribute,
 * `false`/`null`/`undefined` → left out). Children may be nodes or strings (as text).
 */
export function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") {
      node.className = value;
    } else if (key === "text") {
      node.textContent = String(value);
    } else if (key === "dataset") {
      Object.assign(node.dataset, value);
    } else if (key.startsWith("on")) {
      // Event-handler attributes are blocked by the page's CSP anyway; insist on functions.
      if (typeof value !== "function") throw new TypeError(`${key} must be a function`);
      node.addEventListener(key.slice(2), value);
    } else {
      node.setAttribute(key, value === true ? "" : String(value));
    }
  }
  for (const child of [].concat(children)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** The element with this id; throws if the template lacks it, so mistakes show up early. */
export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`#${id} is missing from the page`);
  return node;
}

/** Whether an element is rendered (it and its ancestors are not display:none). */
export function isShown(node) {
  return node.isConnected && node.getClientRects().length > 0;
}

/**
 * Make a message composer send on submit and on Enter (Shift+Enter is a new line; Enter
 * while an input method is composing is not a send). Listeners end with `signal`.
 */
export function bindSendKeys(form, input, send, signal) {
  form.addEventListener(
    "submit",
    (event) => {
      event.preventDefault();
      send();
    },
    { signal },
  );
  input.addEventListener(
    "keydown",
    (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        send();
      }
    },
    { signal },
  );
}

/**
 * The first of `items` (each with a `node`, in document order) at least partly in view in
 * `scroller`, and its offset from the scroller's top; null when there are none.
 */
export function scrollAnchor(scroller, items) {
  if (items.length === 0) return null;
  const top = scroller.getBoundingClientRect().top;
  let low = 0;
  let high = items.length - 1;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (items[mid].node.getBoundingClientRect().bottom > top) high = mid;
    else low = mid + 1;
  }
  const item = items[low];
  return { item, offset: item.node.getBoundingClientRect().top - top };
}

/** Scroll so that the anchor is drawn where it was (when it is still in the page). */
export function restoreScrollAnchor(scroller, anchor) {
  if (!anchor || !anchor.item.node.isConnected) return;
  const top = scroller.getBoundingClientRect().top;
  const offset = anchor.item.node.getBoundingClientRect().top - top;
  scroller.scrollTop += offset - anchor.offset;
}
