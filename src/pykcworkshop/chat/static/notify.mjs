// Calling the user back to the tab: browser notifications (opt-in) and the "live" attention
// count (attention.mjs: title and favicon badge) for mentions and direct messages that
// arrive while the tab is hidden.
//
// The header's bell button is the only place that asks the browser for permission, and only
// when it is clicked (never on page load). It shows the state as text: "Notifications: on",
// "Notifications: off" or "Notifications blocked by the browser"; the choice is remembered
// in localStorage (session.mjs). Without the Notification API the button stays hidden.
//
// Hooks for tests: #notifications-toggle with data-state (on | off | blocked | unsupported).

import { clearCounts, setCounts } from "./attention.mjs";
import { byId, el } from "./dom.mjs";
import { notificationsWanted, setNotificationsWanted } from "./session.mjs";
import { toast } from "./toast.mjs";

const MAX_BODY_LENGTH = 200;
const ICON_ON = new URL("./icons/bell.svg", import.meta.url).href;
const ICON_OFF = new URL("./icons/bell-off.svg", import.meta.url).href;
const FAVICON = new URL("./favicon.svg", import.meta.url).href;
const LABELS = {
  on: "Notifications: on",
  off: "Notifications: off",
  blocked: "Notifications blocked by the browser",
  unsupported: "Notifications are not available in this browser",
};
const TITLES = {
  on: "You get a notification for mentions and direct messages while this tab is hidden. Click to turn off.",
  off: "Click to get a notification for mentions and direct messages while this tab is hidden.",
  blocked: "Your browser blocks notifications from this site: allow them in its site settings.",
  unsupported: LABELS.unsupported,
};

function supported() {
  return typeof window.Notification === "function";
}

function isHidden() {
  return document.visibilityState !== "visible";
}

/** The body of a notification: the text on one line, shortened. */
export function notificationBody(text) {
  const line = String(text).replace(/\s+/g, " ").trim();
  return line.length > MAX_BODY_LENGTH ? `${line.slice(0, MAX_BODY_LENGTH - 1)}…` : line;
}

export class Notifier {
  #button;
  #icon;
  #label;
  #unseen = 0;
  #shown = new Set(); // open notifications, closed when the tab is visible again

  /** Put the bell button into the header's user menu and follow the tab's visibility. */
  constructor() {
    this.#icon = el("img", { src: ICON_OFF, alt: "", class: "icon-small" });
    this.#label = el("span", { class: "max-sm:sr-only" });
    this.#button = el(
      "button",
      {
        id: "notifications-toggle",
        type: "button",
        class: "btn btn-secondary btn-small notify-toggle",
        onclick: () => this.#toggle(),
      },
      [this.#icon, this.#label],
    );
    const menu = byId("user-menu");
    menu.insertBefore(this.#button, byId("members-toggle"));
    document.addEventListener("visibilitychange", () => this.#visibilityChanged());
    // The permission may change in the browser's settings while the page is open.
    window.addEventListener("focus", () => this.#render());
    this.#render();
  }

  /** The state shown on the button: "on" | "off" | "blocked" | "unsupported". */
  get state() {
    if (!supported()) return "unsupported";
    if (Notification.permission === "denied") return "blocked";
    return Notification.permission === "granted" && notificationsWanted() ? "on" : "off";
  }

  /**
   * Something for the user: a mention or a direct message. While the tab is hidden it is
   * counted in the title and on the favicon, and, when notifications are on, shown as one.
   * `onClick` runs after the tab was focused from the notification (open the room or DM).
   * `counted`: the title and favicon count it already (a room mention, in the server's
   * unread counts), so only the notification is shown.
   * Returns whether the user was alerted (false while the tab is visible).
   */
  alert({ title, body, tag, onClick, counted = false }) {
    if (!isHidden()) return false;
    // A room mention is in the server's counts already ("room:<hash>"): count it once.
    if (!counted) {
      this.#unseen += 1;
      setCounts("live", { unread: this.#unseen, mentions: this.#unseen });
    }
    if (this.state !== "on") return true;
    let notification;
    try {
      notification = new Notification(title, {
        body: notificationBody(body),
        tag,
        icon: FAVICON,
      });
    } catch (error) {
      // E.g. Chrome on Android allows notifications from service workers only.
      console.warn("could not show a notification", error);
      return true;
    }
    this.#shown.add(notification);
    notification.addEventListener("close", () => this.#shown.delete(notification));
    notification.addEventListener("click", () => {
      window.focus();
      notification.close();
      onClick?.();
    });
    return true;
  }

  /** Forget the counts and close the notifications (logging out). */
  reset() {
    this.#unseen = 0;
    clearCounts("live");
    for (const notification of this.#shown) notification.close();
    this.#shown.clear();
  }

  #visibilityChanged() {
    // Back on the tab: the user sees the room (and the DM badges), so the count is done.
    if (!isHidden()) this.reset();
    this.#render();
  }

  async #toggle() {
    const state = this.state;
    if (state === "unsupported") return;
    if (state === "on") {
      setNotificationsWanted(false);
    } else if (state === "blocked") {
      toast(TITLES.blocked, { kind: "info", key: "notifications-blocked" });
    } else {
      let permission = Notification.permission;
      if (permission === "default") {
        try {
          permission = await Notification.requestPermission();
        } catch {
          permission = Notification.permission;
        }
      }
      setNotificationsWanted(permission === "granted");
      if (permission === "granted") {
        toast("Notifications are on for mentions and direct messages.", { kind: "success" });
      } else if (permission === "denied") {
        toast(TITLES.blocked, { kind: "info", key: "notifications-blocked" });
      }
    }
    this.#render();
  }

  #render() {
    const state = this.state;
    const button = this.#button;
    button.dataset.state = state;
    button.hidden = state === "unsupported";
    button.title = TITLES[state];
    this.#label.textContent = LABELS[state];
    this.#icon.src = state === "on" ? ICON_ON : ICON_OFF;
  }
}
