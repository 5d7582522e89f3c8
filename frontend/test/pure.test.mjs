// Unit tests for the frontend's pure helpers (no browser needed): `npm test`.
// The page as a whole is covered by the end-to-end tests in the Python suite.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  parseTimestamp,
  normalizeMessage,
} from "../../src/pykcworkshop/chat/static/message-data.mjs";
import {
  canonicalJson,
  charLength,
  contentProblem,
  nameProblem,
} from "../../src/pykcworkshop/chat/static/validation.mjs";
import { parseSyncEvent } from "../../src/pykcworkshop/chat/static/sync.mjs";
import { typingText } from "../../src/pykcworkshop/chat/static/members.mjs";
import { backoffDelay, isErrorFrame } from "../../src/pykcworkshop/chat/static/socket.mjs";

test("parseTimestamp keeps microseconds and honours the offset", () => {
  const utc = parseTimestamp("2024-07-01T12:30:05.123456+00:00");
  assert.equal(utc.ms, Date.UTC(2024, 6, 1, 12, 30, 5, 123));
  assert.equal(utc.micros, Date.UTC(2024, 6, 1, 12, 30, 5) * 1000 + 123456);
  const shifted = parseTimestamp("2024-07-01T14:30:05.123456+02:00");
  assert.equal(shifted.micros, utc.micros);
  assert.equal(parseTimestamp("2024-07-01T12:30:05Z").ms, Date.UTC(2024, 6, 1, 12, 30, 5));
  assert.equal(parseTimestamp("not a date"), null);
  assert.equal(parseTimestamp(42), null);
});

test("normalizeMessage checks the shape and keeps an integer id", () => {
  const good = {
    user_name: "Ada",
    user_id: 3,
    content: "hi",
    timestamp: "2024-07-01T12:30:05+00:00",
    id: 7,
  };
  assert.equal(normalizeMessage(good).id, 7);
  assert.equal(normalizeMessage({ ...good, id: "7" }).id, null);
  assert.equal(normalizeMessage({ ...good, user_id: "3" }), null);
  assert.equal(normalizeMessage({ ...good, content: null }), null);
  assert.equal(normalizeMessage({ ...good, timestamp: "yesterday" }), null);
  assert.equal(normalizeMessage(null), null);
});

test("normalizeMessage keeps edited_at only when the server sent one", () => {
  const good = {
    user_name: "Ada",
    user_id: 3,
    content: "hi",
    timestamp: "2024-07-01T12:30:05+00:00",
  };
  assert.equal(normalizeMessage(good).edited_at, null);
  const edited = { ...good, edited_at: "2024-07-01T12:31:00+00:00" };
  assert.equal(normalizeMessage(edited).edited_at, "2024-07-01T12:31:00+00:00");
  assert.equal(normalizeMessage({ ...good, edited_at: 5 }).edited_at, null);
});

test("name and content rules mirror the server's", () => {
  assert.equal(nameProblem("  Ada  ", "user name"), "");
  assert.equal(nameProblem("   ", "user name"), "user name must not be empty");
  assert.equal(nameProblem("x".repeat(33)), "name must be at most 32 characters");
  assert.equal(nameProblem("😀".repeat(32)), "", "code points, not UTF-16 units");
  assert.equal(nameProblem("bad\u0007name"), "name must not contain control characters");
  assert.equal(nameProblem("a\u202eb"), "name must not contain control characters");
  assert.equal(nameProblem("👩\u200d💻"), "", "the zero-width joiner is allowed");
  assert.equal(contentProblem("x".repeat(512)), "");
  assert.equal(contentProblem("x".repeat(513)), "message must be at most 512 characters");
  assert.equal(charLength("😀a"), 2);
});

test("canonicalJson ignores key order", () => {
  assert.equal(
    canonicalJson({ b: 1, a: [1, { d: 2, c: 3 }] }),
    canonicalJson({ a: [1, { c: 3, d: 2 }], b: 1 }),
  );
  assert.notEqual(canonicalJson({ a: "1" }), canonicalJson({ a: 1 }));
});

test("parseSyncEvent accepts the protocol and ignores everything else", () => {
  const me = 5;
  assert.deepEqual(parseSyncEvent({ v: 1, type: "status-request", from: 2 }, me), {
    type: "status-request",
    from: 2,
  });
  assert.deepEqual(parseSyncEvent({ v: 1, type: "dm-notify", from: 2, to: 5 }, me), {
    type: "dm-notify",
    from: 2,
    to: 5,
  });
  assert.equal(parseSyncEvent({ v: 1, type: "dm-notify", from: 2, to: 6 }, me), null, "not for us");
  assert.equal(parseSyncEvent({ v: 1, type: "status-request", from: 5 }, me), null, "our own");
  assert.equal(parseSyncEvent({ v: 2, type: "status-request", from: 2 }, me), null);
  assert.equal(parseSyncEvent({ v: 1, type: "launch-missiles", from: 2 }, me), null);
  assert.equal(parseSyncEvent({ v: 1, type: "dm-open", from: "2", to: 5 }, me), null);
  assert.equal(parseSyncEvent([1, 2], me), null);
  assert.equal(parseSyncEvent("status-request", me), null);
});

test("typingText names up to two people", () => {
  assert.equal(typingText([]), "");
  assert.equal(typingText(["Ada"]), "Ada is typing…");
  assert.equal(typingText(["Ada", "Bo"]), "Ada and Bo are typing…");
  assert.equal(typingText(["Ada", "Bo", "Cy"]), "Ada, Bo and 1 other are typing…");
  assert.equal(typingText(["Ada", "Bo", "Cy", "Di"]), "Ada, Bo and 2 others are typing…");
});

test("backoff grows, is jittered and capped at 10 s", () => {
  for (let attempt = 0; attempt < 12; attempt += 1) {
    const ceiling = Math.min(10_000, 500 * 2 ** attempt);
    for (let i = 0; i < 20; i += 1) {
      const delay = backoffDelay(attempt);
      assert.ok(delay >= ceiling / 2 && delay <= ceiling, `${attempt}: ${delay}`);
    }
  }
});

test("isErrorFrame recognizes only {error: …} objects", () => {
  assert.equal(isErrorFrame({ error: "too long" }), true);
  assert.equal(isErrorFrame({ user_status: "Online" }), false);
  assert.equal(isErrorFrame([{ error: "x" }]), false);
  assert.equal(isErrorFrame(null), false);
});
