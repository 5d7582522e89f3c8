// Form checks while the user types. Local rules answer at once (and keep working while the
// socket is down); then the server's verdict arrives over the /form-validation socket, which
// also knows whether a name is already taken.
//
// Protocol: we send {"type": "create-user" | "create-room" | "chat-message", "form_data": {…}}
// and the server replies {"form_data": <echoed>, "validation_failed": bool,
// "failure_reason": str}. The reply carries no type or request id, so a reply is matched by
// its form_data: it is applied to a field only while that field still holds exactly that
// data. Replies about what the user typed a moment ago are simply ignored.

import { MAX_CONTENT_LENGTH, MAX_NAME_LENGTH, VALIDATION_DEBOUNCE_MS } from "./constants.mjs";
import { ReconnectingSocket } from "./socket.mjs";

/** Length in characters (code points), as the server counts it — not UTF-16 units. */
export function charLength(text) {
  return [...text].length;
}

// Control (Cc), surrogate (Cs) and format (Cf) characters, as on the server; the zero-width
// joiner is a format character that emoji sequences need, so it is allowed.
const CONTROL_CHARACTER = /[\p{Cc}\p{Cs}\p{Cf}]/u;
const ZERO_WIDTH_JOINER = "\u200d";

/** Why `value` is not a valid user or room name, or "" when it is. Mirrors the server. */
export function nameProblem(value, what = "name") {
  const name = value.trim();
  if (!name) return `${what} must not be empty`;
  if (charLength(name) > MAX_NAME_LENGTH) {
    return `${what} must be at most ${MAX_NAME_LENGTH} characters`;
  }
  for (const char of name) {
    if (char !== ZERO_WIDTH_JOINER && CONTROL_CHARACTER.test(char)) {
      return `${what} must not contain control characters`;
    }
  }
  return "";
}

/** Why `value` cannot be sent as a message, or "" when it can (empty is checked elsewhere). */
export function contentProblem(value) {
  if (charLength(value) > MAX_CONTENT_LENGTH) {
    return `message must be at most ${MAX_CONTENT_LENGTH} characters`;
  }
  return "";
}

/** JSON with sorted keys, so two equal objects always give the same string. */
export function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

class Field {
  #validator;
  #spec;
  #timer = null;

  constructor(validator, spec) {
    this.#validator = validator;
    this.#spec = spec;
  }

  /** Re-check the field now: local rules at once, the server shortly after. */
  check() {
    clearTimeout(this.#timer);
    const formData = this.#spec.formData();
    const reason = this.#spec.local(formData);
    if (reason) {
      this.#spec.onResult({ failed: true, reason, pending: false });
      return;
    }
    this.#spec.onResult({ failed: false, reason: "", pending: true });
    this.#timer = setTimeout(
      () => this.#validator.send(this.#spec.type, formData),
      VALIDATION_DEBOUNCE_MS,
    );
  }

  /** Apply a server reply if it is about what the field holds now. */
  offer(reply, replyKey) {
    if (canonicalJson(this.#spec.formData()) !== replyKey) return;
    this.#spec.onResult({
      failed: reply.validation_failed,
      reason: reply.validation_failed ? reply.failure_reason || "invalid" : "",
      pending: false,
    });
  }

  dispose() {
    clearTimeout(this.#timer);
    this.#validator.forget(this);
  }
}

export class FormValidator {
  #socket;
  #fields = new Set();

  constructor({ monitor, onErrorFrame } = {}) {
    this.#socket = new ReconnectingSocket("/form-validation", {
      name: "form validation",
      onMessage: (reply) => this.#receive(reply),
      // Replies sent while the socket was down were lost: ask again for what is on screen.
      onOpen: ({ reconnected }) => reconnected && this.#recheckAll(),
      onErrorFrame,
    });
    monitor?.track(this.#socket);
  }

  start() {
    this.#socket.start();
  }

  /**
   * Register a field.
   *   type       "create-user" | "create-room" | "chat-message"
   *   formData() the form_data for the field's current value
   *   local(formData) a reason from the local rules, or ""
   *   onResult({failed, reason, pending}) called with every verdict; `pending` means the
   *              local rules passed and the server has not answered yet
   * Returns an object with check() (call on every input) and dispose().
   */
  field(spec) {
    const field = new Field(this, spec);
    this.#fields.add(field);
    return field;
  }

  forget(field) {
    this.#fields.delete(field);
  }

  send(type, formData) {
    this.#socket.send({ type, form_data: formData });
  }

  #recheckAll() {
    for (const field of this.#fields) field.check();
  }

  #receive(reply) {
    if (
      !reply ||
      typeof reply !== "object" ||
      typeof reply.validation_failed !== "boolean" ||
      !reply.form_data ||
      typeof reply.form_data !== "object"
    ) {
      return;
    }
    const key = canonicalJson(reply.form_data);
    const result = {
      validation_failed: reply.validation_failed,
      failure_reason: typeof reply.failure_reason === "string" ? reply.failure_reason : "",
    };
    for (const field of this.#fields) field.offer(result, key);
  }
}
