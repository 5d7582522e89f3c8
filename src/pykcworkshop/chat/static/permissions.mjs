// Who may do what in a room (docs/protocol.md "Moderation routes"), so the UI offers only
// the actions the server would allow. Pure: no DOM, tested in frontend/test. The server
// checks again; a stale role here only means a refused request shown as a toast.

/**
 * The mute durations the member menu offers, with labels (each at most MAX_MUTE_MINUTES:
 * tests/test_frontend_constants.py checks).
 */
export const MUTE_CHOICES = [
  { minutes: 5, label: "Mute for 5 minutes" },
  { minutes: 60, label: "Mute for 1 hour" },
  { minutes: 1440, label: "Mute for 1 day" },
];

/** Whether `role` may moderate (kick, ban, mute, delete any message, see the bans). */
export function canModerate(role) {
  return role === "owner" || role === "moderator";
}

/** Whether someone of `viewerRole` may kick, ban or mute a member of `targetRole`. */
export function canActOn(viewerRole, targetRole) {
  if (viewerRole === "owner") return targetRole !== "owner";
  // Moderators never act on the owner or on each other.
  return viewerRole === "moderator" && targetRole === "member";
}

/** Whether `mutedUntil` (ISO 8601 or null) is still in the future at `now` (ms). */
export function isMuted(mutedUntil, now = Date.now()) {
  if (typeof mutedUntil !== "string") return false;
  const until = Date.parse(mutedUntil);
  return Number.isFinite(until) && until > now;
}

/**
 * The member-menu actions the viewer may take on `target` ({role, muted_until}), in menu
 * order: "kick", "ban", "mute-5", "mute-60", "mute-1440", "unmute", "promote", "demote",
 * "transfer". None on yourself (`self`) or on an unknown member (null).
 */
export function memberActions(viewerRole, target, { self = false, now = Date.now() } = {}) {
  if (self || !target || !canActOn(viewerRole, target.role ?? "member")) return [];
  const actions = ["kick", "ban", ...MUTE_CHOICES.map(({ minutes }) => `mute-${minutes}`)];
  if (isMuted(target.muted_until, now)) actions.push("unmute");
  if (viewerRole === "owner") {
    actions.push(target.role === "moderator" ? "demote" : "promote", "transfer");
  }
  return actions;
}

/** Whether the viewer may delete a message: their own, or any as a moderator or the owner. */
export function canDeleteMessage(viewerRole, { own }) {
  return own || canModerate(viewerRole);
}

/** "12:05" today, else "3 May, 12:05": when a mute ends, in the reader's time zone. */
export function untilText(iso, now = new Date()) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "later";
  const time = date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  if (date.toDateString() === now.toDateString()) return time;
  const day = date.toLocaleDateString(undefined, { day: "numeric", month: "short" });
  return `${day}, ${time}`;
}
