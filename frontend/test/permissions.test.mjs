// Unit tests for permissions.mjs: which moderation actions the UI offers to whom.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  canActOn,
  canDeleteMessage,
  canModerate,
  isMuted,
  memberActions,
  untilText,
} from "../../src/pykcworkshop/chat/static/permissions.mjs";

const NOW = Date.UTC(2024, 4, 1, 12, 0, 0);
const LATER = new Date(NOW + 60_000).toISOString();
const EARLIER = new Date(NOW - 60_000).toISOString();
const MEMBER_ACTIONS = ["kick", "ban", "mute-5", "mute-60", "mute-1440"];

test("only the owner and moderators moderate", () => {
  assert.equal(canModerate("owner"), true);
  assert.equal(canModerate("moderator"), true);
  assert.equal(canModerate("member"), false);
  assert.equal(canModerate(undefined), false);
});

test("the permission matrix: viewer role × target role", () => {
  const expected = {
    owner: { owner: false, moderator: true, member: true },
    moderator: { owner: false, moderator: false, member: true },
    member: { owner: false, moderator: false, member: false },
  };
  for (const [viewer, targets] of Object.entries(expected)) {
    for (const [target, allowed] of Object.entries(targets)) {
      assert.equal(canActOn(viewer, target), allowed, `${viewer} on ${target}`);
    }
  }
});

test("a moderator's menu on a member: kick, ban, mutes; unmute only while muted", () => {
  const member = { role: "member", muted_until: null };
  assert.deepEqual(memberActions("moderator", member, { now: NOW }), MEMBER_ACTIONS);
  const muted = { role: "member", muted_until: LATER };
  assert.deepEqual(memberActions("moderator", muted, { now: NOW }), [...MEMBER_ACTIONS, "unmute"]);
  const expired = { role: "member", muted_until: EARLIER };
  assert.deepEqual(memberActions("moderator", expired, { now: NOW }), MEMBER_ACTIONS);
});

test("the owner's menu adds promote or demote, and transfer", () => {
  const member = { role: "member", muted_until: null };
  assert.deepEqual(memberActions("owner", member, { now: NOW }), [
    ...MEMBER_ACTIONS,
    "promote",
    "transfer",
  ]);
  const moderator = { role: "moderator", muted_until: null };
  assert.deepEqual(memberActions("owner", moderator, { now: NOW }), [
    ...MEMBER_ACTIONS,
    "demote",
    "transfer",
  ]);
});

test("no menu on yourself, on the owner, for members, or on an unknown member", () => {
  assert.deepEqual(memberActions("owner", { role: "owner" }, { self: true }), []);
  assert.deepEqual(memberActions("moderator", { role: "member" }, { self: true }), []);
  assert.deepEqual(memberActions("moderator", { role: "owner" }), []);
  assert.deepEqual(memberActions("moderator", { role: "moderator" }), []);
  assert.deepEqual(memberActions("member", { role: "member" }), []);
  assert.deepEqual(memberActions("owner", null), []);
});

test("Delete: own messages for everyone, all messages for moderators and the owner", () => {
  assert.equal(canDeleteMessage("member", { own: true }), true);
  assert.equal(canDeleteMessage("member", { own: false }), false);
  assert.equal(canDeleteMessage("moderator", { own: false }), true);
  assert.equal(canDeleteMessage("owner", { own: false }), true);
});

test("isMuted reads ISO dates and ignores anything else", () => {
  assert.equal(isMuted(LATER, NOW), true);
  assert.equal(isMuted(EARLIER, NOW), false);
  assert.equal(isMuted(null, NOW), false);
  assert.equal(isMuted("soon", NOW), false);
});

test("untilText gives the time, and the day when it is not today", () => {
  const now = new Date(2024, 4, 1, 12, 0);
  const today = untilText(new Date(2024, 4, 1, 12, 5).toISOString(), now);
  assert.match(today, /12.05/);
  const tomorrow = untilText(new Date(2024, 4, 2, 12, 0).toISOString(), now);
  assert.match(tomorrow, /2/);
  assert.notEqual(tomorrow, today);
  assert.equal(untilText("nonsense", now), "later");
});
