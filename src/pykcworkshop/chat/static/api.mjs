// HTTP calls to /chat/api/v1: adds the X-CSRF-TOKEN and Bearer headers, turns error
// responses (application/problem+json) into ApiError, and reports 401s on authenticated
// calls so the app can drop the session. Also builds the ws(s):// URLs for the sockets.

import { API_BASE } from "./constants.mjs";
import { csrfToken } from "./session.mjs";

/** A failed request. `status` is the HTTP status, or 0 when the server was not reached. */
export class ApiError extends Error {
  constructor(status, message, { title = "", detail = "", body = null } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.body = body;
  }

  get isNetworkError() {
    return this.status === 0;
  }
}

let tokenProvider = () => null;
let unauthorizedHandler = () => {};

/** Tell the API where to find the current session token (a function returning it or null). */
export function setTokenProvider(provider) {
  tokenProvider = provider;
}

/** Called with the ApiError whenever an authenticated request gets 401. */
export function onUnauthorized(handler) {
  unauthorizedHandler = handler;
}

async function readBody(response) {
  const text = await response.text().catch(() => "");
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function errorFrom(response, body) {
  // RFC 9457 problem details: {"title", "status", "detail", ...}
  const problem = body && typeof body === "object" ? body : {};
  const title = typeof problem.title === "string" ? problem.title : "";
  const detail = typeof problem.detail === "string" ? problem.detail : "";
  const message = detail || title || `The server answered ${response.status}.`;
  return new ApiError(response.status, message, { title, detail, body });
}

async function request(method, path, { body, auth = true } = {}) {
  const headers = {
    "X-CSRF-TOKEN": csrfToken(),
    Accept: "application/json, application/problem+json",
  };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth) {
    const token = tokenProvider();
    if (!token) {
      const error = new ApiError(401, "You are not logged in.");
      unauthorizedHandler(error);
      throw error;
    }
    headers.Authorization = `Bearer ${token}`;
  }

  let response;
  try {
    response = await fetch(API_BASE + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "Cannot reach the server. Check your connection and try again.");
  }

  const data = await readBody(response);
  if (response.ok) return data;
  const error = errorFrom(response, data);
  if (response.status === 401 && auth) unauthorizedHandler(error);
  throw error;
}

const seg = (value) => encodeURIComponent(String(value));

/** POST /user/create → {user_hash, user_name} */
export const createUser = (userName) =>
  request("POST", "/user/create", {
    body: { user_name: userName },
    auth: false,
  });

/** POST /user/login → {user_id, user_name, user_token} */
export const login = (userHash) =>
  request("POST", "/user/login", {
    body: { user_hash: userHash },
    auth: false,
  });

/** POST /user/logout → 204: the session token stops working, its sockets close (4001). */
export const logout = () => request("POST", "/user/logout");

/** GET /room/<hash> → {room_hash, room_name} */
export const getRoom = (roomHash) => request("GET", `/room/${seg(roomHash)}`);

/** POST /room/create → {room_hash, room_name} */
export const createRoom = (roomName) =>
  request("POST", "/room/create", { body: { room_name: roomName } });

/** GET /user/rooms/joined → [{room_hash, room_name}] */
export const joinedRooms = () => request("GET", "/user/rooms/joined");

/** GET /user/rooms/owned → [{room_hash, room_name}] */
export const ownedRooms = () => request("GET", "/user/rooms/owned");

/** PUT /room/<hash>/join → {room_token, room_name} */
export const joinRoom = (roomHash) => request("PUT", `/room/${seg(roomHash)}/join`);

/** GET /user/rooms/unread → [{room_hash, unread, mentions, last_read_id}] */
export const unreadCounts = () => request("GET", "/user/rooms/unread");

/** PUT /room/<hash>/read {message_id} → {room_hash, unread, mentions, last_read_id} */
export const markRead = (roomHash, messageId) =>
  request("PUT", `/room/${seg(roomHash)}/read`, { body: { message_id: messageId } });

/** PATCH /room/<hash>/messages/<id> {content} → the edited message object (with edited_at) */
export const editMessage = (roomHash, messageId, content) =>
  request("PATCH", `/room/${seg(roomHash)}/messages/${seg(messageId)}`, { body: { content } });

/** GET /room/<hash>/members → [{user_name, user_id, role, muted_until (moderators only)}] */
export const roomMembers = (roomHash) => request("GET", `/room/${seg(roomHash)}/members`);

// ---- moderation (docs/protocol.md "Moderation routes") ----------------------------------

const memberPath = (roomHash, userId) => `/room/${seg(roomHash)}/members/${seg(userId)}`;

/** POST /room/<hash>/members/<id>/kick → 204 */
export const kickMember = (roomHash, userId) =>
  request("POST", `${memberPath(roomHash, userId)}/kick`);

/** POST /room/<hash>/members/<id>/ban {reason?} → 204 (an empty reason is left out) */
export const banMember = (roomHash, userId, reason = "") =>
  request("POST", `${memberPath(roomHash, userId)}/ban`, {
    body: reason.trim() ? { reason: reason.trim() } : {},
  });

/** GET /room/<hash>/bans → [{user_id, user_name, by_id, by_name, reason, at}], newest first */
export const roomBans = (roomHash) => request("GET", `/room/${seg(roomHash)}/bans`);

/** DELETE /room/<hash>/bans/<id> → 204 */
export const unbanMember = (roomHash, userId) =>
  request("DELETE", `/room/${seg(roomHash)}/bans/${seg(userId)}`);

/** POST /room/<hash>/members/<id>/mute {minutes} → {user_id, muted_until} */
export const muteMember = (roomHash, userId, minutes) =>
  request("POST", `${memberPath(roomHash, userId)}/mute`, { body: { minutes } });

/** DELETE /room/<hash>/members/<id>/mute → 204 */
export const unmuteMember = (roomHash, userId) =>
  request("DELETE", `${memberPath(roomHash, userId)}/mute`);

/** PUT /room/<hash>/members/<id>/role {role: "moderator" | "member"} → 204 */
export const setMemberRole = (roomHash, userId, role) =>
  request("PUT", `${memberPath(roomHash, userId)}/role`, { body: { role } });

/** POST /room/<hash>/transfer {user_id} → 204: they own the room, we become a moderator */
export const transferRoom = (roomHash, userId) =>
  request("POST", `/room/${seg(roomHash)}/transfer`, { body: { user_id: userId } });

/** PATCH /room/<hash> {room_name} → {room_hash, room_name} */
export const renameRoom = (roomHash, roomName) =>
  request("PATCH", `/room/${seg(roomHash)}`, { body: { room_name: roomName } });

/** DELETE /room/<hash> → 204: the room and its messages are gone */
export const deleteRoom = (roomHash) => request("DELETE", `/room/${seg(roomHash)}`);

/** POST /room/<hash>/leave → 204 */
export const leaveRoom = (roomHash) => request("POST", `/room/${seg(roomHash)}/leave`);

/** DELETE /room/<hash>/messages/<id> → 204 */
export const deleteMessage = (roomHash, messageId) =>
  request("DELETE", `/room/${seg(roomHash)}/messages/${seg(messageId)}`);

/**
 * Whether the server answers HTTP at all. A browser cannot tell a refused WebSocket
 * handshake from a server that is down; if HTTP works, the socket is being refused.
 */
export async function serverReachable() {
  try {
    await fetch("/robots.txt", {
      method: "GET",
      cache: "no-store",
      credentials: "omit",
    });
    return true;
  } catch {
    return false;
  }
}

/** ws:// or wss:// (matching the page) URL of a socket path under the API. */
export function socketUrl(path) {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}${API_BASE}${path}`;
}

/** Encode a path segment (room hash, user id) for REST and socket paths. */
export { seg as pathSegment };
