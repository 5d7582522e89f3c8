// Unit tests for unread.mjs's pure helpers (badge text, counting an event, reading the
// server's rows), its rule for events that race a fetch, and divider.mjs's rule
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
  assert.deepEqual(
    [...countsFrom(rows)],
    [["a", { unread: 1, mentions: 0, last_read_id: 5, newest_id: 0 }]],
  );
  assert.equal(countsFrom(null).size, 0);
});

test("the divider's rule: others' messages after the position", () => {
  assert.equal(isUnreadNode({ messageId: "11", own: "false", system: "false" }, 10), true);
  assert.equal(isUnreadNode({ messageId: "10", own: "false", system: "false" }, 10), false);
  assert.equal(isUnreadNode({ messageId: "11", own: "true", system: "false" }, 10), false);
  assert.equal(isUnreadNode({ messageId: "11", own: "false", system: "true" }, 10), false);
  assert.equal(isUnreadNode({ own: "false", system: "false" }, 10), false);
});

/** Stub fetch: each request waits until the test answers it with (unread, newest_id). */
function stubServer() {
  globalThis.document = { querySelector: () => null };
  setTokenProvider(() => "token");
  const answers = [];
  globalThis.fetch = () =>
    new Promise((resolve) => {
      answers.push((unread, newest) =>
        resolve(
          Response.json([
            { room_hash: "a", unread, mentions: 0, last_read_id: 5, newest_id: newest },
          ]),
        ),
      );
    });
  return answers;
}

const tick = () => new Promise((resolve) => setTimeout(resolve));

for (const [when, unread, newest] of [
  ["before the message was stored", 2, 5],
  ["after the message was stored", 3, 6],
]) {
  test(`a message event during a fetch answered ${when} is counted once`, async () => {
    const answers = stubServer();
    const counts = new UnreadCounts({ session: { user_id: ME, user_token: "token" } });
    try {
      const fetched = counts.refresh();
      await tick();
      counts.receive({ type: "message", room_hash: "a", id: 6, user_id: 3, mentions: [] });
      answers[0](unread, newest);
      await fetched;
      assert.equal(answers.length, 1);
      assert.equal(counts.get("a").unread, 3);
      // Later events count on top, once each.
      counts.receive({ type: "message", room_hash: "a", id: 7, user_id: 3, mentions: [] });
      assert.equal(counts.get("a").unread, 4);
    } finally {
      counts.close();
      delete globalThis.fetch;
      delete globalThis.document;
    }
  });
}

test("countMessage skips what the server's counts already include", () => {
  const fresh = { unread: 3, mentions: 0, last_read_id: 5, newest_id: 6 };
  assert.equal(countMessage(fresh, { id: 6, user_id: 3, mentions: [] }, ME), fresh);
  assert.equal(countMessage(fresh, { id: 7, user_id: 3, mentions: [] }, ME).unread, 4);
});
