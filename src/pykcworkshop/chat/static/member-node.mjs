// The entries of the member list: the list item for a member, how it shows their status,
// unread direct messages and whether their conversation is the open one, and the order of
// the list. Other members' entries are buttons that open a direct message; our own is not.

import { el } from "./dom.mjs";

/**
 * Build the list item of `member` ({user_id, user_name, status}).
 * `isMe`: it is our own entry; `onOpenDm(userId)`: someone else's button was pressed.
 */
export function memberNode(member, { isMe, onOpenDm }) {
  const node = el("li", {
    dataset: {
      testid: "member",
      userId: String(member.user_id),
      status: member.status,
    },
  });
  const parts = [
    el("span", { class: "status-dot", "aria-hidden": "true" }),
    el("span", {
      class: "member-name",
      text: isMe ? `${member.user_name} (you)` : member.user_name,
    }),
    el("span", {
      class: "member-status",
      dataset: { testid: "member-status" },
    }),
  ];
  if (isMe) {
    node.append(el("div", { class: "member-btn" }, parts));
  } else {
    parts.push(
      el("span", {
        class: "badge",
        dataset: { testid: "unread-badge" },
        hidden: true,
      }),
    );
    node.append(
      el(
        "button",
        {
          type: "button",
          class: "member-btn",
          "aria-pressed": "false",
          dataset: { testid: "member-dm" },
          onclick: () => onOpenDm?.(member.user_id),
        },
        parts,
      ),
    );
  }
  return node;
}

/** Show a member's role in the room: a label for the owner and moderators, none for members. */
export function showRole(node, role) {
  let label = node.querySelector('[data-testid="member-role"]');
  if (!label) {
    label = el("span", { class: "member-status", dataset: { testid: "member-role" } });
    node.querySelector(".member-name").after(label);
  }
  node.dataset.role = role;
  label.textContent = role === "owner" || role === "moderator" ? role : "";
  label.hidden = !label.textContent;
}

/** Show `status`, the unread count and whether `activeDm` is this member on their node. */
export function showMember(member, { status, activeDm }) {
  const { node } = member;
  node.dataset.status = status;
  node.querySelector('[data-testid="member-status"]').textContent = status;
  const button = node.querySelector("button");
  if (!button) return;
  const badge = node.querySelector('[data-testid="unread-badge"]');
  badge.textContent = String(member.unread);
  badge.hidden = member.unread === 0;
  button.setAttribute("aria-pressed", String(activeDm === member.user_id));
  const unread = member.unread ? `, ${member.unread} unread` : "";
  button.setAttribute("aria-label", `Direct message ${member.user_name} (${status}${unread})`);
}

/**
 * Sort `members` (us first, then everyone by name) and make `list` show their nodes in that
 * order, touching the DOM only when the order changed and keeping the keyboard focus.
 */
export function placeInOrder(list, members, isMe) {
  // Sorting by name only keeps items from jumping around whenever a status changes.
  members.sort((a, b) => {
    if (isMe(a) !== isMe(b)) return isMe(a) ? -1 : 1;
    return a.user_name.localeCompare(b.user_name, undefined, {
      sensitivity: "base",
    });
  });
  const inOrder = members.every((member, index) => list.children[index] === member.node);
  if (inOrder && list.children.length === members.length) return;
  const focused = document.activeElement;
  list.replaceChildren(...members.map((member) => member.node));
  if (focused instanceof HTMLElement && focused.isConnected && focused !== document.activeElement) {
    focused.focus();
  }
}
