// Unit tests for mentions.mjs (detection, the composer's query, matching and insertion) and
// for the mention segments richtext.mjs builds from it.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  findMentions,
  insertMention,
  matchMembers,
  mentionCandidates,
  mentionQuery,
  mentionsName,
} from "../../src/pykcworkshop/chat/static/mentions.mjs";
import { tokenize } from "../../src/pykcworkshop/chat/static/richtext.mjs";

const NAMES = ["Ada", "Ada Lovelace", "Bo", "o'neil", "Zoë"];
const names = (text) => findMentions(text, NAMES).map((m) => m.name);
const written = (text) => findMentions(text, NAMES).map((m) => text.slice(m.start, m.end));

test("a name after @ is a mention, case-insensitive, with its position", () => {
  assert.deepEqual(findMentions("hi @ada!", NAMES), [{ start: 3, end: 7, name: "Ada" }]);
  assert.deepEqual(names("@BO and @zoë"), ["Bo", "Zoë"]);
  assert.deepEqual(written("@BO and @zoë"), ["@BO", "@zoë"]);
});

test("the longest name wins, so names may contain spaces", () => {
  assert.deepEqual(names("@Ada Lovelace, look"), ["Ada Lovelace"]);
  assert.deepEqual(names("@Ada Love"), ["Ada"]);
  // The longer name fails its boundary: the shorter one is tried next.
  assert.deepEqual(names("@Ada Lovelaces"), ["Ada"]);
});

test("mentions need a boundary before the @ and after the name", () => {
  assert.deepEqual(names("mail ada@example.com"), []);
  assert.deepEqual(names("@Adam is not Ada"), []);
  assert.deepEqual(names("@Ada_"), []);
  assert.deepEqual(names("(@Ada)"), ["Ada"]);
  assert.deepEqual(names("@Ada's turn"), ["Ada"]);
  assert.deepEqual(names("@o'neil"), ["o'neil"]);
  assert.deepEqual(names("@@Ada"), ["Ada"]);
  assert.deepEqual(names("@Ada@Bo"), ["Ada"]); // "Ada@Bo" reads as an e-mail address
});

test("names that end in punctuation may be followed by anything", () => {
  assert.deepEqual(findMentions("@K.I.T.T.rocks", ["K.I.T.T."]).length, 1);
});

test("nothing to find: no @, no names, bad input", () => {
  assert.deepEqual(findMentions("hello", NAMES), []);
  assert.deepEqual(findMentions("@Ada", []), []);
  assert.deepEqual(findMentions(null, NAMES), []);
  assert.deepEqual(findMentions("@ ", ["", " "]), []);
});

test("mentionCandidates drops blanks and case duplicates, longest first", () => {
  assert.deepEqual(mentionCandidates(["Bo", "ada", "Ada Lovelace", "", "ADA", null]), [
    "Ada Lovelace",
    "ada",
    "Bo",
  ]);
});

test("mentionsName tells whether a given member is mentioned", () => {
  assert.equal(mentionsName("hey @ada lovelace", "Ada Lovelace", NAMES), true);
  assert.equal(mentionsName("hey @Ada Lovelace", "Ada", NAMES), false);
  assert.equal(mentionsName("hey @Ada", "Ada", NAMES), true);
  // One's own name counts even when the member list is not loaded yet.
  assert.equal(mentionsName("hey @Ada", "Ada", []), true);
  assert.equal(mentionsName("hey Ada", "Ada", NAMES), false);
  assert.equal(mentionsName("hey @Ada", "", NAMES), false);
});

test("mentionQuery finds the @… being typed at the caret", () => {
  assert.deepEqual(mentionQuery("hi @", 4), { start: 3, query: "" });
  assert.deepEqual(mentionQuery("hi @Ad", 6), { start: 3, query: "Ad" });
  assert.deepEqual(mentionQuery("hi @Ada Lo", 10), { start: 3, query: "Ada Lo" });
  assert.deepEqual(mentionQuery("@Ada and more", 4), { start: 0, query: "Ada" });
  assert.deepEqual(mentionQuery("hi @Ad"), { start: 3, query: "Ad" });
});

test("mentionQuery ignores e-mails, line breaks, a space right after @ and long runs", () => {
  assert.equal(mentionQuery("ada@ex", 6), null);
  assert.equal(mentionQuery("@Ada\nmore", 9), null);
  assert.equal(mentionQuery("@ Ada", 5), null);
  assert.equal(mentionQuery("no at sign", 10), null);
  assert.equal(mentionQuery(`@${"x".repeat(33)}`, 34), null);
  assert.deepEqual(mentionQuery(`@${"x".repeat(32)}`, 33), { start: 0, query: "x".repeat(32) });
  assert.equal(mentionQuery(null, 0), null);
});

test("matchMembers ranks prefixes, then word starts, then substrings", () => {
  const members = ["Bob", "ada", "Ada Lovelace", "Grace Hopper", "Lada", "Ed"].map((n) => ({
    user_name: n,
  }));
  const match = (q, limit) => matchMembers(members, q, limit).map((m) => m.user_name);
  assert.deepEqual(match("ad"), ["ada", "Ada Lovelace", "Lada"]);
  assert.deepEqual(match("LOVE"), ["Ada Lovelace"]);
  assert.deepEqual(match("hop"), ["Grace Hopper"]);
  assert.deepEqual(match("", 3), ["ada", "Ada Lovelace", "Bob"]);
  assert.deepEqual(match("zz"), []);
});

test("insertMention replaces the query with @name and a space, caret after it", () => {
  assert.deepEqual(insertMention("hi @Ad", 3, 6, "Ada Lovelace"), {
    value: "hi @Ada Lovelace ",
    caret: 17,
  });
  assert.deepEqual(insertMention("hi @Ad there", 3, 6, "Ada"), {
    value: "hi @Ada there",
    caret: 8,
  });
  assert.deepEqual(insertMention("@", 0, 1, "Bo"), { value: "@Bo ", caret: 4 });
});

test("richtext makes mention segments from the names given, never in code or links", () => {
  const opts = { mentionNames: NAMES };
  assert.deepEqual(tokenize("hi @ada lovelace, see `@Ada`", opts), [
    { type: "text", text: "hi " },
    { type: "mention", text: "@ada lovelace", name: "Ada Lovelace" },
    { type: "text", text: ", see " },
    { type: "code", text: "@Ada" },
  ]);
  assert.deepEqual(tokenize("https://x.org/@Ada @Bo", opts), [
    { type: "link", text: "https://x.org/@Ada", href: "https://x.org/@Ada" },
    { type: "text", text: " " },
    { type: "mention", text: "@Bo", name: "Bo" },
  ]);
  assert.deepEqual(tokenize("```\n@Ada\n```", opts), [
    { type: "codeblock", text: "@Ada", lang: "" },
  ]);
  // Without names, no mentions: the text is one segment, as before.
  assert.deepEqual(tokenize("hi @Ada"), [{ type: "text", text: "hi @Ada" }]);
});
