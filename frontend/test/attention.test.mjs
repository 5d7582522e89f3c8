// Unit tests for the pure parts of attention.mjs (title count, favicon badge text, sums)
// and notify.mjs (the notification body).

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  attentionTitle,
  badgeText,
  totalOf,
} from "../../src/pykcworkshop/chat/static/attention.mjs";
import { notificationBody } from "../../src/pykcworkshop/chat/static/notify.mjs";

test("the title shows the count in front, nothing when it is 0", () => {
  assert.equal(attentionTitle("pykcworkshop chat", 3), "(3) pykcworkshop chat");
  assert.equal(attentionTitle("Room · pykcworkshop chat", 0), "Room · pykcworkshop chat");
  assert.equal(attentionTitle("x", 1000), "(999+) x");
});

test("the favicon badge shows 1 to 9, then 9+", () => {
  assert.equal(badgeText(1), "1");
  assert.equal(badgeText(9), "9");
  assert.equal(badgeText(10), "9+");
});

test("totals add up every source", () => {
  const sources = new Map([
    ["live", { unread: 2, mentions: 2 }],
    ["room:abc", { unread: 5, mentions: 1 }],
  ]);
  assert.deepEqual(totalOf(sources), { unread: 7, mentions: 3 });
  assert.deepEqual(totalOf(new Map()), { unread: 0, mentions: 0 });
});

test("a notification body is the text on one line, shortened", () => {
  assert.equal(notificationBody("hi\n\n  @Ada   look"), "hi @Ada look");
  const long = notificationBody("x".repeat(500));
  assert.equal(long.length, 200);
  assert.ok(long.endsWith("…"));
});
