// latestOnly(): only the latest call's answer counts (the member list's refetches).

import assert from "node:assert/strict";
import { test } from "node:test";

import { latestOnly, STALE } from "../../src/pykcworkshop/chat/static/latest.mjs";

/** An async request whose answers the test releases by hand, in any order. */
function controlled() {
  const pending = [];
  const request = (value) =>
    new Promise((resolve, reject) => pending.push({ value, resolve, reject }));
  return { request, pending };
}

test("a lone call gets its answer", async () => {
  const load = latestOnly(async (x) => x * 2);
  assert.equal(await load(21), 42);
});

test("an earlier answer arriving last is stale; the latest one counts", async () => {
  const { request, pending } = controlled();
  const load = latestOnly(request);
  const first = load("old list");
  const second = load("new list");
  pending[1].resolve(pending[1].value);
  pending[0].resolve(pending[0].value);
  assert.equal(await second, "new list");
  assert.equal(await first, STALE);
});

test("an earlier answer is stale once a later call was made, whatever arrives first", async () => {
  const { request, pending } = controlled();
  const load = latestOnly(request);
  const first = load(1);
  const second = load(2);
  pending[0].resolve(pending[0].value);
  assert.equal(await first, STALE);
  pending[1].resolve(pending[1].value);
  assert.equal(await second, 2);
});

test("an answer that came before the next call was made counts", async () => {
  const { request, pending } = controlled();
  const load = latestOnly(request);
  const first = load(1);
  pending[0].resolve(pending[0].value);
  assert.equal(await first, 1);
  const second = load(2);
  pending[1].resolve(pending[1].value);
  assert.equal(await second, 2);
});

test("errors still reject, stale or not", async () => {
  const { request, pending } = controlled();
  const load = latestOnly(request);
  const first = load(1);
  const second = load(2);
  pending[0].reject(new Error("network down"));
  pending[1].reject(new Error("still down"));
  await assert.rejects(first, /network down/);
  await assert.rejects(second, /still down/);
});
