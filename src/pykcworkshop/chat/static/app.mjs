// The chat page's entry point: wires the modules together and moves between the signed-out
// view, the signed-in view and the open room. Loaded by chat.html as the one module script.
//
// Module map (one job each):
//   constants     limits, paths, timings          dom           element helpers, scroll anchors
//   session       localStorage + CSRF token       api           HTTP calls, problem+json errors
//   socket        reconnecting WebSocket          connection    "Reconnecting…" banner
//   toast         notifications                   clipboard     copy with a plain-http fallback
//   validation    live form checks                messages      message list, order, scrolling
//   message-data  timestamps, shape, duplicates   message-node  a message, day separators
//   richtext      links and code in text (pure)   timeline      days, grouping, times (pure)
//   mentions      "@name" detection (pure)        mentionpicker the composer's "@" picker
//   history       chat-history requests           paging        history pages, catching up
//   chat          the room's conversation         composer      the room's message box
//   members       member list, statuses           member-node   a member's entry, list order
//   sync          client-sync event protocol      dm            direct messages
//   attention     title count, favicon badge      notify        notifications, the bell button
//   rooms         rooms sidebar, create, join     room          one open room, wired
//   auth          sign up, key dialog, log in     layout        drawers on small screens
//   unread        server unread counts, events   divider       the "New messages" divider
//   room-events   moderation events of a room    moderation    menus, Delete, settings, wired
//   permissions   who may do what (pure)         dialogs       confirm and ban dialogs
//   member-menu   a member's actions menu        message-actions  Delete on messages
//   room-settings rename, bans, leave, delete    message-edit  editing own messages, (edited)
//   message-list-parts  the pill, midnight, trimming         app   this file
//
// Stable hooks for end-to-end tests (ids unless noted):
//   Signed out   #auth-view, #signup-name, #signup-submit, #signup-reason,
//                #login-key-input, #login-submit, #login-error, #invite-note
//   Key dialog   #login-key-dialog, #login-key-display (a <code>: read its textContent),
//                #login-key-copy, #login-key-done (closes the dialog; the app is then shown)
//   Header       #current-user, #logout, #sidebar-toggle, #members-toggle (phones only),
//                #notifications-toggle (data-state: on | off | blocked | unsupported)
//   Tab          document.title ("(n) …" while mentions/DMs are unseen), the favicon
//                link[rel=icon] (data-badge="n" while it shows a badge),
//                <html data-attention="n">
//   Rooms        #app-view, #joined-rooms, #owned-rooms (each room a
//                [data-testid=room] button with data-room-hash and data-unread, holding
//                [data-testid=room-unread] (the unread count, "99+" from 100; hidden at 0)
//                and [data-testid=room-mentions] ("@n", highlighted; hidden at 0)),
//                #room-create-name,
//                #room-create-submit, #room-create-reason, #room-join-hash (a key or a
//                share link), #room-join-submit, #room-join-reason
//   Open room    #no-room (shown when none is open; #no-room-show-rooms opens the rooms
//                on phones; [data-testid=room-removed] says why we were removed),
//                #room-view (data-room-hash of the open room), #room-title,
//                #share-link (button; data-share-url holds the link), #room-settings
//   Settings     #room-settings-dialog, #room-settings-close; owner: #room-rename-input,
//                #room-rename-submit, #room-rename-reason; moderators: #room-bans (each
//                [data-testid=ban] with data-user-id and an [data-testid=unban] button),
//                #room-bans-empty; #room-leave (disabled for the owner), #room-leave-note;
//                owner: #room-delete, then #room-delete-name (type the room's name),
//                #room-delete-submit, #room-delete-cancel
//   Messages     #messages (scroll container), #message-list; each message is
//                [data-testid=message] with data-author, data-user-id, data-own,
//                data-system, data-message-id (when the server sends an id),
//                data-continued ("true": grouped under the previous message's header),
//                [data-testid=unread-divider] ("New messages") above the first unread one,
//                containing [data-testid=message-content] (its textContent is the text
//                shown), [data-testid=message-author] (not on system messages; hidden
//                when continued) and [data-testid=message-time] (a <time> with datetime
//                and the full date as title). In the content: [data-testid=message-link]
//                (<a>), [data-testid=inline-code], [data-testid=code-block] (data-lang
//                when given; the code in its "pre code", a [data-testid=code-copy]
//                button, data-copied="true" for a moment after copying).
//                [data-testid=message-delete] (a button, shown on own messages, and on
//                all for moderators and the owner).
//                An edited message has [data-testid=message-edited] ("(edited)", beside
//                the time; title "Edited <full date>"). One's own stored messages have a
//                [data-testid=message-edit] button ("Edit"); while editing, the content
//                is hidden and [data-testid=message-editor] (a textarea) holds the text:
//                Enter saves, Shift+Enter is a new line, Escape cancels.
//                [data-testid=day-separator] items (data-day="YYYY-MM-DD", the label as
//                text) go before the first message of each day. Mentions in the content
//                are [data-testid=mention] spans (data-name: the member, data-me="true"
//                for the reader); a message that mentions the reader has
//                data-mentions-me="true". #new-messages-pill ("n new
//                messages ↓", or "Jump to latest ↓" when the list dropped the newest),
//                #history-start ("This is the beginning of the conversation"),
//                #history-loading, #chat-unavailable
//   Composer     #message-input, #message-send, #message-counter ("n / 512"),
//                #message-reason, #typing-indicator; after "@": #mention-listbox with
//                [data-testid=mention-option] items (data-user-id; aria-selected="true"
//                on the active one)
//   Members      #members; each [data-testid=member] with data-user-id and data-status
//                (Online | Typing | Offline), containing [data-testid=member-status] and,
//                for everyone but yourself, [data-testid=member-dm] (opens the DM) and
//                [data-testid=unread-badge] (hidden when 0); data-role and
//                [data-testid=member-role]; [data-testid=member-actions] ("Actions for
//                <name>", when the viewer may act on them) opens #member-menu with
//                [data-testid=member-action] items, data-action: kick | ban | mute-5 |
//                mute-60 | mute-1440 | unmute | promote | demote | transfer
//   Dialogs      #confirm-dialog (#confirm-title, #confirm-text, #confirm-accept,
//                #confirm-cancel); #ban-dialog (#ban-title, #ban-reason, #ban-counter,
//                #ban-submit, #ban-cancel)
//   DMs          #dm-panel, #dm-title, #dm-close, #dm-note ("Direct messages are not
//                saved…"), #dm-messages (messages as above), #dm-empty, #dm-input,
//                #dm-send, #dm-counter, #dm-reason
//   Health       #connection-banner (data-state: reconnecting | failed),
//                #connection-banner-text, #connection-retry
//   Toasts       #toasts; each [data-testid=toast] with data-kind (info|success|error)

import * as api from "./api.mjs";
import { copyText } from "./clipboard.mjs";
import { ConnectionMonitor } from "./connection.mjs";
import { byId, isShown } from "./dom.mjs";
import { AuthView } from "./auth.mjs";
import { Drawers } from "./layout.mjs";
import { Notifier } from "./notify.mjs";
import { RoomSession } from "./room.mjs";
import { RoomsSidebar } from "./rooms.mjs";
import { UnreadCounts } from "./unread.mjs";
import { clearCounts, setCounts } from "./attention.mjs";
import {
  clearSession,
  isSessionStorageEvent,
  lastRoom,
  loadSession,
  rememberRoom,
  saveSession,
} from "./session.mjs";
import { SESSION_ENDED_CODE, onEnded } from "./socket.mjs";
import { clearToasts, toast } from "./toast.mjs";
import { FormValidator } from "./validation.mjs";

const ui = {
  main: byId("main"),
  authView: byId("auth-view"),
  appView: byId("app-view"),
  userMenu: byId("user-menu"),
  currentUser: byId("current-user"),
  logout: byId("logout"),
  inviteNote: byId("invite-note"),
  shareLink: byId("share-link"),
  roomCreateName: byId("room-create-name"),
};

/** The logged-in session {user_id, user_name, user_token}, or null. */
let session = null;
/** The open RoomSession, or null. */
let room = null;
/** The server-backed unread counts of the session's rooms (UnreadCounts), or null. */
let unread = null;
/** Rooms whose counts are in the title ("room:<hash>" attention sources). */
let countedRooms = new Set();
/** A room hash from a share link (?room=…) to join once logged in. */
let pendingInvite = new URLSearchParams(window.location.search).get("room")?.trim() || null;

const monitor = new ConnectionMonitor({
  banner: byId("connection-banner"),
  text: byId("connection-banner-text"),
  retryButton: byId("connection-retry"),
});

/** Server error frames ({"error": …}) are shown as toasts, never as chat messages. */
function showErrorFrame(reason) {
  toast(reason, { kind: "error", key: `server-error:${reason}` });
}

const validator = new FormValidator({ monitor, onErrorFrame: showErrorFrame });
const drawers = new Drawers();
const notifier = new Notifier();
const sidebar = new RoomsSidebar({
  validator,
  getSession: () => session,
  onOpenRoom: (info) => openRoom(info),
  onRoomsChanged: (roomHashes) => unread?.setRooms(roomHashes),
});
const auth = new AuthView({
  validator,
  onLoggedIn: (newSession) => enterApp(newSession),
});

api.setTokenProvider(() => session?.user_token ?? null);
api.onUnauthorized(() => endSession("Your session has ended. Please log in again."));

// ---- views ------------------------------------------------------------------------------

function showSignedOut({ focusLogin = false } = {}) {
  ui.appView.hidden = true;
  ui.userMenu.hidden = true;
  ui.currentUser.textContent = "";
  drawers.setAvailable(false);
  ui.inviteNote.hidden = !pendingInvite;
  auth.show({ focusLogin });
}

async function enterApp(newSession) {
  session = newSession;
  saveSession(session);
  auth.hide();
  ui.currentUser.textContent = session.user_name;
  ui.userMenu.hidden = false;
  ui.appView.hidden = false;
  drawers.setAvailable(true);
  // A sensible place for the cursor until we know whether a room opens.
  if (isShown(ui.roomCreateName)) ui.roomCreateName.focus();
  else ui.main.focus();

  unread?.close();
  unread = new UnreadCounts({ session, onChange: showCounts });
  try {
    // The counts first: opening a room puts the "New messages" divider at its read position.
    await unread.refresh();
    await sidebar.refresh();
  } catch (error) {
    if (error.status !== 401)
      toast(`Could not load your rooms: ${error.message}`, { kind: "error" });
    if (session !== newSession) return;
  }
  if (session !== newSession) return; // logged out meanwhile

  if (pendingInvite) {
    const roomHash = pendingInvite;
    pendingInvite = null;
    forgetInviteInUrl();
    try {
      await sidebar.join(roomHash);
      return;
    } catch (error) {
      if (error.status === 401) return;
      toast(`Could not join the room from the link: ${error.message}`, {
        kind: "error",
      });
    }
  }

  const previous = lastRoom();
  if (previous && sidebar.isJoined(previous)) {
    openRoom({ room_hash: previous, room_name: sidebar.nameOf(previous) });
  }
}

/** Counts changed: the sidebar's badges and the title's total ("room:<hash>" sources). */
function showCounts(counts) {
  sidebar.setCounts(counts);
  for (const roomHash of countedRooms) if (!counts.has(roomHash)) clearCounts(`room:${roomHash}`);
  for (const [roomHash, { unread: count, mentions }] of counts) {
    setCounts(`room:${roomHash}`, { unread: count, mentions });
  }
  countedRooms = new Set(counts.keys());
}

function forgetInviteInUrl() {
  const url = new URL(window.location.href);
  url.searchParams.delete("room");
  window.history.replaceState(window.history.state, "", `${url.pathname}${url.search}${url.hash}`);
}

function openRoom({ room_hash: roomHash, room_name: roomName }) {
  if (!session) return;
  drawers.closeSidebar();
  if (room?.roomHash === roomHash) {
    room.focusComposer();
    return;
  }
  closeRoom();
  let ending = false; // the room is being deleted, or we are being removed from it
  const opened = new RoomSession({
    room: { room_hash: roomHash, room_name: roomName },
    session,
    validator,
    monitor,
    onErrorFrame: showErrorFrame,
    onShowPeople: () => drawers.showPeople(),
    notifier,
    onOpenRoom: (info) => openRoom(info),
    onRemoved: (reason) => showRemoved(reason),
    onRenamed: () => sidebar.refresh().catch(() => {}),
    onGone: (message) => showRemoved(message, { own: true }),
    lastReadId: unread?.get(roomHash)?.last_read_id ?? null,
    // Only while this room is open: a closed room (left, kicked, deleted) may still
    // report what was on screen, and the server would refuse that read.
    onRead: (messageId) => room === opened && !ending && unread?.markRead(roomHash, messageId),
    onEnding: () => {
      ending = true;
      unread?.forget(roomHash);
    },
  });
  room = opened;
  room.start();
  rememberRoom(roomHash);
  sidebar.setActive(roomHash);
  room.focusComposer();

  if (!roomName) {
    // Opened before we knew its name (e.g. the last room of a previous visit).
    api
      .getRoom(roomHash)
      .then((info) => room === opened && opened.setName(info?.room_name))
      .catch(() => {});
  }
}

function closeRoom() {
  room?.close();
  room = null;
  sidebar.setActive(null);
  byId("room-removed").hidden = true;
}

/**
 * We were removed from the open room (kicked, banned, left elsewhere) or it was deleted.
 * `own`: we left or deleted it ourselves, here: a toast says so instead of the notice.
 */
function showRemoved(reason, { own = false } = {}) {
  // A read position we were about to send would only be refused now.
  if (room) unread?.forget(room.roomHash);
  closeRoom();
  if (own) toast(reason, { kind: "success" });
  const notice = byId("room-removed");
  notice.textContent = reason;
  notice.hidden = own;
  sidebar.refresh().catch(() => {});
}

function logOut({ focusLogin = true } = {}) {
  closeRoom();
  session = null;
  clearSession();
  unread?.close();
  unread = null;
  showCounts(new Map());
  notifier.reset();
  sidebar.reset();
  clearToasts();
  showSignedOut({ focusLogin });
}

/** Called on any 401 from the API: the token is no longer good. */
function endSession(message) {
  if (!session) return;
  logOut();
  toast(message, { kind: "error", key: "session-ended", timeout: 0 });
}

// ---- page-wide controls -----------------------------------------------------------------

// Logging out ends the session on the server too: the token stops working and every socket
// opened with it closes (4001), also in this user's other tabs and browsers.
ui.logout.addEventListener("click", () => {
  if (session) api.logout().catch((error) => console.warn("logout request failed", error));
  logOut();
});

// The server closed a socket because this session ended (logged out elsewhere, expired).
onEnded((code) => {
  if (code === SESSION_ENDED_CODE) endSession("You were signed out. Please sign in again.");
});

ui.shareLink.addEventListener("click", async () => {
  const link = ui.shareLink.dataset.shareUrl;
  if (!link) return;
  if (await copyText(link)) {
    toast("Share link copied. Anyone with the link can join this room.", {
      kind: "success",
    });
  } else {
    toast(`Copy this link to share the room: ${link}`, {
      kind: "info",
      timeout: 0,
    });
  }
});

// Another tab logged in or out: follow it.
window.addEventListener("storage", (event) => {
  if (!isSessionStorageEvent(event)) return;
  const stored = loadSession();
  if (!stored && session) {
    logOut({ focusLogin: false });
    toast("You logged out in another tab.", { kind: "info" });
  } else if (stored && stored.user_token !== session?.user_token) {
    closeRoom();
    enterApp(stored);
  }
});

// ---- start ------------------------------------------------------------------------------

validator.start();
const stored = loadSession();
if (stored) enterApp(stored);
else showSignedOut();
