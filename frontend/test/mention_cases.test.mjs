// The shared mention cases (tests/fixtures/mention_cases.json) through mentions.mjs; the
// server's chat/mentions.py runs the same file in tests/test_mentions.py, so the two agree.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { findMentions } from "../../src/pykcworkshop/chat/static/mentions.mjs";

const fixture = new URL("../../tests/fixtures/mention_cases.json", import.meta.url);
const { cases } = JSON.parse(readFileSync(fixture, "utf8"));

test("the shared cases are there", () => {
  assert.ok(cases.length >= 20);
});

for (const { names, text, mentioned } of cases) {
  test(`${JSON.stringify(text)} with ${JSON.stringify(names)}`, () => {
    assert.deepEqual(
      findMentions(text, names).map((m) => m.name),
      mentioned,
    );
  });
}
