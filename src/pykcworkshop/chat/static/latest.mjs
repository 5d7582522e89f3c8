// Only the latest call's answer counts: for requests whose answers may arrive out of order
// (the member list is refetched on every reconnect and on every join, and a slow early
// answer must not put back what a later one replaced).

/** What a call resolves to when another call was made after it: its answer is old news. */
export const STALE = Symbol("stale");

/**
 * Wrap `request` (an async function): each call resolves to its answer, or to STALE when
 * a later call was made before the answer arrived. Errors still reject.
 */
export function latestOnly(request) {
  let calls = 0;
  return async (...args) => {
    const ticket = ++calls;
    const answer = await request(...args);
    return ticket === calls ? answer : STALE;
  };
}
