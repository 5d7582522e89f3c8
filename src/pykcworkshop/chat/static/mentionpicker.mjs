// The composer's "@" picker: typing "@" offers the room's members, filtered as one types
// (mentions.mjs), and inserts "@name " at the caret.
//
// Keys while it is open: Up/Down move, Enter or Tab insert, Escape closes (until a new "@").
// A click or tap on a member inserts it; the message box keeps the focus throughout.
//
// Accessibility: the listbox pattern with aria-activedescendant. The message box stays a
// (multi-line) textbox, which ARIA allows to own a popup listbox (aria-autocomplete="list",
// aria-controls, aria-activedescendant); role="combobox" would make screen readers treat it
// as a single-line field. A polite status line says how many members match.
//
// Hooks for tests: #mention-listbox (role=listbox), [data-testid=mention-option] items
// (role=option, data-user-id, aria-selected="true" on the active one).

import { el } from "./dom.mjs";
import { insertMention, matchMembers, mentionQuery } from "./mentions.mjs";

const MAX_OPTIONS = 8;

export class MentionPicker {
  #input;
  #getMembers;
  #listbox;
  #status;
  #options = []; // the members shown
  #active = -1;
  #query = null; // {start, query} while open
  #dismissedAt = -1; // the "@" (index) the user closed or completed: do not reopen for it
  #abort = new AbortController();

  /**
   * @param {object} options
   *   input       the textarea
   *   container   where the listbox goes (positioned relative to it)
   *   getMembers  () → [{user_id, user_name}] to offer (without the user themself)
   */
  constructor({ input, container, getMembers }) {
    this.#input = input;
    this.#getMembers = getMembers;
    this.#listbox = el("ul", {
      id: "mention-listbox",
      role: "listbox",
      class: "mention-listbox",
      "aria-label": "Members to mention",
      hidden: true,
    });
    this.#status = el("p", { class: "sr-only", role: "status", "aria-live": "polite" });
    container.append(this.#listbox, this.#status);
    input.setAttribute("aria-autocomplete", "list");

    const { signal } = this.#abort;
    // Registered before the composer's own keys: Enter picks instead of sending.
    input.addEventListener("keydown", (event) => this.#keydown(event), { signal });
    input.addEventListener("input", () => this.update(), { signal });
    input.addEventListener("click", () => this.update(), { signal });
    input.addEventListener(
      "keyup",
      (event) => {
        if (["ArrowLeft", "ArrowRight", "Home", "End"].includes(event.key)) this.update();
      },
      { signal },
    );
    input.addEventListener("blur", () => this.close(), { signal });
    // Keep the focus in the message box when an option is pressed.
    this.#listbox.addEventListener("mousedown", (event) => event.preventDefault(), { signal });
    this.#listbox.addEventListener(
      "click",
      (event) => {
        const option = event.target.closest?.("[role=option]");
        if (option) this.#pick(Number(option.dataset.index));
      },
      { signal },
    );
    this.#listbox.addEventListener(
      "mousemove",
      (event) => {
        const option = event.target.closest?.("[role=option]");
        if (option) this.#setActive(Number(option.dataset.index));
      },
      { signal },
    );
  }

  get isOpen() {
    return !this.#listbox.hidden;
  }

  /** Look at the text before the caret again: open, filter or close. */
  update() {
    const input = this.#input;
    const caret = input.selectionStart === input.selectionEnd ? input.selectionEnd : null;
    const found = caret === null ? null : mentionQuery(input.value, caret);
    // A dismissed "@" stays closed only while it is the one being typed after.
    if (found?.start !== this.#dismissedAt) this.#dismissedAt = -1;
    if (!found || found.start === this.#dismissedAt) {
      this.close();
      return;
    }
    const options = matchMembers(this.#getMembers(), found.query, MAX_OPTIONS);
    if (options.length === 0) {
      this.close();
      return;
    }
    const previous = this.#options[this.#active]?.user_id;
    this.#query = found;
    this.#options = options;
    const keep = options.findIndex((member) => member.user_id === previous);
    this.#render(keep === -1 ? 0 : keep);
  }

  close() {
    if (this.#listbox.hidden && this.#query === null) return;
    this.#query = null;
    this.#options = [];
    this.#active = -1;
    this.#listbox.hidden = true;
    this.#listbox.replaceChildren();
    this.#status.textContent = "";
    this.#input.removeAttribute("aria-controls");
    this.#input.removeAttribute("aria-activedescendant");
  }

  /** Remove the listbox and every listener (the room closes). */
  destroy() {
    this.close();
    this.#abort.abort();
    this.#listbox.remove();
    this.#status.remove();
    this.#input.removeAttribute("aria-autocomplete");
  }

  #keydown(event) {
    if (!this.isOpen || event.isComposing) return;
    let handled = true;
    switch (event.key) {
      case "ArrowDown":
        this.#setActive((this.#active + 1) % this.#options.length);
        break;
      case "ArrowUp":
        this.#setActive((this.#active - 1 + this.#options.length) % this.#options.length);
        break;
      case "Enter":
      case "Tab":
        if (event.shiftKey) handled = false;
        else this.#pick(this.#active);
        break;
      case "Escape":
        this.#dismissedAt = this.#query.start;
        this.close();
        break;
      default:
        handled = false;
    }
    if (handled) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }

  #pick(index) {
    const member = this.#options[index];
    const query = this.#query;
    if (!member || !query) return;
    const input = this.#input;
    const next = insertMention(input.value, query.start, input.selectionEnd, member.user_name);
    this.#dismissedAt = query.start;
    this.close();
    input.value = next.value;
    input.setSelectionRange(next.caret, next.caret);
    input.focus();
    // The composer's counter, validation and typing status follow the "input" event.
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }

  #render(active) {
    const nodes = this.#options.map((member, index) =>
      el(
        "li",
        {
          id: `mention-option-${member.user_id}`,
          role: "option",
          class: "mention-option",
          "aria-selected": "false",
          dataset: {
            testid: "mention-option",
            userId: String(member.user_id),
            index: String(index),
          },
        },
        [
          el("span", { class: "mention-option-at", "aria-hidden": "true", text: "@" }),
          member.user_name,
        ],
      ),
    );
    this.#listbox.replaceChildren(...nodes);
    this.#listbox.hidden = false;
    this.#input.setAttribute("aria-controls", this.#listbox.id);
    const count = nodes.length;
    this.#status.textContent = `${count} ${count === 1 ? "member" : "members"} to mention. Up and Down to choose, Enter to insert.`;
    this.#active = -1;
    this.#setActive(active);
  }

  #setActive(index) {
    if (index === this.#active || !this.#options[index]) return;
    const nodes = this.#listbox.children;
    nodes[this.#active]?.setAttribute("aria-selected", "false");
    this.#active = index;
    const node = nodes[index];
    node.setAttribute("aria-selected", "true");
    this.#input.setAttribute("aria-activedescendant", node.id);
    node.scrollIntoView({ block: "nearest" });
  }
}
