// Limits, paths and timings shared by the modules. The limits mirror
// pykcworkshop/chat/constants.py (tests/test_frontend_constants.py fails when they differ);
// the server checks them again, these only give early feedback.

/** Prefix of every HTTP and WebSocket endpoint. */
export const API_BASE = "/chat/api/v1";
/** The subprotocol the server selects on every accepted WebSocket. */
export const SUBPROTOCOL = "chat.v1";

/** Longest user or room name (characters, after trimming). */
export const MAX_NAME_LENGTH = 32;
/** Longest chat or direct message (characters). */
export const MAX_CONTENT_LENGTH = 512;
/** Author name of the server's own messages ("Ada has joined the chat."). */
export const SYSTEM_USER_NAME = "System";
/** Longest reason a moderator may give for a ban (characters). */
export const MAX_BAN_REASON_LENGTH = 200;
/** Longest mute (minutes: a week); the member menu offers 5, 60 and 1440. */
export const MAX_MUTE_MINUTES = 10080;

/** Messages per page when scrolling up through the history. */
export const HISTORY_PAGE_SIZE = 50;
/** Messages per page when catching up after a reconnect (the server's maximum). */
export const CATCH_UP_PAGE_SIZE = 100;
/**
 * Messages a room's list keeps at most (six pages): scrolling back further drops the newest
 * ones, which are paged in again on the way down. For plain-text messages that is about
 * 2,700 DOM nodes (elements and text, a Delete button included) at most, however long
 * the history is.
 */
export const MAX_RENDERED_MESSAGES = 300;

/** A "Typing" status is re-sent at most this often while the user keeps typing. */
export const TYPING_THROTTLE_MS = 2000;
/** After this long without a keystroke, a typing user is reported "Online" again. */
export const TYPING_IDLE_MS = 3000;
/** Someone else's "is typing…" line disappears this long after their last Typing event. */
export const TYPING_DISPLAY_MS = 4000;

/** How long validation waits for a pause in typing before asking the server. */
export const VALIDATION_DEBOUNCE_MS = 150;
