// Browser-side storage: the CSRF token from the page, the logged-in session, the last
// open room and whether the user turned browser notifications on (a choice about this
// browser, so it outlives logging out).
//
// The session ({user_id, user_name, user_token}) lives in localStorage so that it survives
// reloads and new tabs of the same browser. The token is a bearer credential: anyone who can
// read it can act as the user, so logging out removes it. (Scripts from other origins cannot
// read it, and the page's CSP allows no third-party or inline scripts.)

const SESSION_KEY = "pykcworkshop.session";
const LAST_ROOM_KEY = "pykcworkshop.lastRoom";
const NOTIFICATIONS_KEY = "pykcworkshop.notifications";

// Used when localStorage is unavailable (some private-browsing modes): the session then
// lasts as long as the page.
const memoryStore = new Map();

function storageGet(key) {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return memoryStore.get(key) ?? null;
  }
}

function storageSet(key, value) {
  try {
    window.localStorage.setItem(key, value);
  } catch {
    memoryStore.set(key, value);
  }
}

function storageRemove(key) {
  try {
    window.localStorage.removeItem(key);
  } catch {
    // Nothing stored there, then.
  }
  memoryStore.delete(key);
}

/** The CSRF token the server rendered into <meta name="csrf-token">. */
export function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.getAttribute("content") ?? "";
}

/** Check the shape of a stored or received session; returns a clean copy or null. */
export function validSession(value) {
  if (!value || typeof value !== "object") return null;
  const { user_id, user_name, user_token } = value;
  if (!Number.isInteger(user_id) || typeof user_name !== "string") return null;
  if (typeof user_token !== "string" || user_token === "") return null;
  return { user_id, user_name, user_token };
}

/** The saved session, or null when logged out (or the stored value is unusable). */
export function loadSession() {
  const raw = storageGet(SESSION_KEY);
  if (!raw) return null;
  try {
    return validSession(JSON.parse(raw));
  } catch {
    return null;
  }
}

export function saveSession(session) {
  storageSet(SESSION_KEY, JSON.stringify(validSession(session)));
}

/** Forget the session and everything tied to it. */
export function clearSession() {
  storageRemove(SESSION_KEY);
  storageRemove(LAST_ROOM_KEY);
}

/** True when a `storage` event (another tab changed localStorage) concerns the session. */
export function isSessionStorageEvent(event) {
  return event.key === SESSION_KEY || event.key === null;
}

/** The room that was open last time, so a reload returns to it. */
export function lastRoom() {
  return storageGet(LAST_ROOM_KEY);
}

export function rememberRoom(roomHash) {
  if (roomHash) storageSet(LAST_ROOM_KEY, roomHash);
  else storageRemove(LAST_ROOM_KEY);
}

/** Whether the user turned browser notifications on in this browser. */
export function notificationsWanted() {
  return storageGet(NOTIFICATIONS_KEY) === "on";
}

export function setNotificationsWanted(wanted) {
  storageSet(NOTIFICATIONS_KEY, wanted ? "on" : "off");
}
