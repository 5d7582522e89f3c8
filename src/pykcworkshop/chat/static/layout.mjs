// The layout on small screens: the rooms sidebar and the members/DM column are drawers,
// opened from buttons in the header. Opening one moves focus into it; Escape, a tap on the
// chat, or picking a room closes it and returns focus to its button. On wide screens
// (Tailwind's `lg`, 1024 px) both columns are always visible and the buttons are hidden.

import { byId } from "./dom.mjs";

const wide = window.matchMedia("(min-width: 1024px)");

function firstFocusable(container) {
  return container.querySelector(
    'button:not([disabled]), input:not([disabled]), textarea:not([disabled]), [tabindex="0"]',
  );
}

export class Drawers {
  #drawers;

  constructor() {
    this.#drawers = [
      {
        panel: byId("sidebar"),
        toggle: byId("sidebar-toggle"),
        label: "rooms",
      },
      {
        panel: byId("people"),
        toggle: byId("members-toggle"),
        label: "members",
      },
    ];
    for (const drawer of this.#drawers) {
      drawer.toggle.addEventListener("click", () => {
        if (this.#isOpen(drawer)) this.#close(drawer, { returnFocus: true });
        else this.#open(drawer);
      });
    }
    document.addEventListener("keydown", (event) => {
      if (event.key !== "Escape" || event.defaultPrevented) return;
      for (const drawer of this.#drawers) {
        if (this.#isOpen(drawer)) this.#close(drawer, { returnFocus: true });
      }
    });
    byId("room-view").addEventListener("pointerdown", () => this.closeAll());
    byId("no-room-show-rooms").addEventListener("click", () => this.#open(this.#drawers[0]));
    wide.addEventListener("change", () => this.closeAll());
  }

  /** Show the header buttons (signed in) or hide them (signed out). */
  setAvailable(available) {
    for (const drawer of this.#drawers) drawer.toggle.hidden = !available;
    if (!available) this.closeAll();
  }

  /** On phones, show the members/DM column. */
  showPeople() {
    if (!wide.matches) this.#open(this.#drawers[1], { moveFocus: false });
  }

  closeSidebar() {
    this.#close(this.#drawers[0], { returnFocus: false });
  }

  closeAll() {
    for (const drawer of this.#drawers) this.#close(drawer, { returnFocus: false });
  }

  #isOpen(drawer) {
    return drawer.panel.dataset.open === "true";
  }

  #open(drawer, { moveFocus = true } = {}) {
    for (const other of this.#drawers) {
      if (other !== drawer) this.#close(other, { returnFocus: false });
    }
    drawer.panel.dataset.open = "true";
    drawer.toggle.setAttribute("aria-expanded", "true");
    drawer.toggle.setAttribute("aria-label", `Hide ${drawer.label}`);
    if (moveFocus) firstFocusable(drawer.panel)?.focus();
  }

  #close(drawer, { returnFocus }) {
    if (!this.#isOpen(drawer)) return;
    const hadFocus = drawer.panel.contains(document.activeElement);
    drawer.panel.dataset.open = "false";
    drawer.toggle.setAttribute("aria-expanded", "false");
    drawer.toggle.setAttribute("aria-label", `Show ${drawer.label}`);
    if (returnFocus && hadFocus && !wide.matches) drawer.toggle.focus();
  }
}
