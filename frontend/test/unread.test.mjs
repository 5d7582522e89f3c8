// Unit tests for unread.mjs's pure helpers (badge text, counting an event, reading the
// server's rows), its refetch rule for events that race a fetch, and divider.mjs's rule
// for which message is unread.

import assert from "node:assert/strict";
import { test } from "node:test";

import { isUnreadNode } from "../../src/pykcworkshop/chat/static/divider.mjs";
import {
  COUNT_CAP,
  countLabel,
  countMessage,
  countsFrom,
  UnreadCounts,
} from "../../src/pykcworkshop/chat/static/unread.mjs";
import { setTokenProvider } from "../../src/pykcworkshop/chat/static/api.mjs";

const ME = 7;
const counts = { unread: 2, mentions: 1, last_read_id: 10 };

test("badge text: nothing for zero, 99+ from the server's cap", () => {
  assert.equal(countLabel(0), "");
  assert.equal(countLabel(1), "1");
  assert.equal(countLabel(99), "99");
  assert.equal(countLabel(COUNT_CAP), "99+");
  assert.equal(countLabel(-1), "");
  assert.equal(countLabel("3"), "");
});

test("a message from someone else after the position counts; a mention of me too", () => {
  assert.deepEqual(countMessage(counts, { id: 11, user_id: 3, mentions: [] }, ME), {
    unread: 3,
    mentions: 1,
    last_read_id: 10,
  });
  assert.deepEqual(countMessage(counts, { id: 11, user_id: 3, mentions: [4, ME] }, ME), {
    unread: 3,
    mentions: 2,
    last_read_id: 10,
  });
});

test("my own messages, read ones and unknown rooms change nothing", () => {
  assert.equal(countMessage(counts, { id: 11, user_id: ME, mentions: [] }, ME), counts);
  assert.equal(countMessage(counts, { id: 10, user_id: 3, mentions: [ME] }, ME), counts);
  assert.equal(countMessage(null, { id: 11, user_id: 3, mentions: [] }, ME), null);
});

test("counts stop at the cap", () => {
  const full = { unread: COUNT_CAP, mentions: COUNT_CAP, last_read_id: 0 };
  assert.deepEqual(countMessage(full, { id: 1, user_id: 3, mentions: [ME] }, ME), full);
});

test("countsFrom keeps the well-formed rows", () => {
  const rows = [
    { room_hash: "a", unread: 1, mentions: 0, last_read_id: 5 },
    { room_hash: "b", unread: "1", mentions: 0, last_read_id: 5 },
    null,
    { unread: 1, mentions: 0, last_read_id: 5 },
  ];
  assert.deepEqual([...countsFrom(rows)], [["a", { unread: 1, mentions: 0, last_read_id: 5 }]]);
  assert.equal(countsFrom(null).size, 0);
});

test("the divider's rule: others' messages after the position", () => {
  assert.equal(isUnreadNode({ messageId: "11", own: "false", system: "false" }, 10), true);
  assert.equal(isUnreadNode({ messageId: "10", own: "false", system: "false" }, 10), false);
  assert.equal(isUnreadNode({ messageId: "11", own: "true", system: "false" }, 10), false);
  assert.equal(isUnreadNode({ messageId: "11", own: "false", system: "true" }, 10), false);
  assert.equal(isUnreadNode({ own: "false", system: "false" }, 10), false);
});

test("a message event during a fetch of the counts fetches them again", async () => {
  // The answer of a fetch under way may or may not count the message: ask once more.
  globalThis.document = { querySelector: () => null };
  setTokenProvider(() => "token");
  const answers = [];
  globalThis.fetch = () =>
    new Promise((resolve) => {
      answers.push((unread) =>
        resolve(
          Response.json([{ room_hash: "a", unread, mentions: 0, last_read_id: 5 }]),
        ),
      );
    });
  const seen = [];
  const counts = new UnreadCounts({
    session: { user_id: ME, user_token: "token" },
    onChange: (all) => seen.push(all.get("a").unread),
  });
  try {
    const first = counts.refresh();
    await new Promise((resolve) => setTimeout(resolve));
    counts.receive({ type: "message", room_hash: "a", id: 6, user_id: 3, mentions: [] });
    answers[0](2); // computed before message 6 was stored
    await new Promise((resolve) => setTimeout(resolve));
    assert.equal(answers.length, 2);
    answers[1](3);
    await first;
    assert.equal(counts.get("a").unread, 3);
    assert.deepEqual(seen, [2, 3]);
  } finally {
    counts.close();
    delete globalThis.fetch;
    delete globalThis.document;
  }
});
