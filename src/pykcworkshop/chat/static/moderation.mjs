// Moderation in an open room, wired together: the member menu (member-menu.mjs), Delete on
// messages (message-actions.mjs) and the settings dialog (room-settings.mjs). They all go
// by the viewer's role, which the member list learns from GET /room/<hash>/members and
// reloads on role-changed events; call update() after each reload and after a rename.

import { cancelDialogs } from "./dialogs.mjs";
import { byId } from "./dom.mjs";
import { MemberMenu } from "./member-menu.mjs";
import { MessageActions } from "./message-actions.mjs";
import { RoomSettings } from "./room-settings.mjs";

export class RoomModeration {
  #menu;
  #messages;
  #settings;

  /**
   * @param {object} options
   *   roomHash, session
   *   getRole()            the viewer's role in the room ("member" until known)
   *   getMember(userId)    {user_id, user_name, role, muted_until} of a member, or null
   *   getName()            the room's name
   *   refreshMembers()     reload the member list (after an action)
   *   removeMessage(id)    take a deleted message out of the view
   *   onRenamed(name)      we renamed the room
   *   onGone(message)      we left or deleted the room
   */
  constructor({
    roomHash,
    session,
    getRole,
    getMember,
    getName,
    refreshMembers,
    removeMessage,
    onRenamed,
    onGone,
  }) {
    this.#menu = new MemberMenu({
      roomHash,
      myId: session.user_id,
      getRole,
      getMember,
      onChanged: refreshMembers,
    });
    this.#messages = new MessageActions({
      roomHash,
      list: byId("message-list"),
      getRole,
      onDeleted: removeMessage,
    });
    this.#settings = new RoomSettings({ roomHash, getRole, getName, onRenamed, onGone });
  }

  /** For MembersPanel: give a member's entry its actions button (when allowed). */
  decorateMember(node, member) {
    this.#menu.decorate(node, member);
  }

  /** For MessageList: give a message its actions. */
  decorateMessage(node, message, own) {
    this.#messages.decorate(node, message, own);
  }

  /** The member list was reloaded (roles, ours too, may have changed) or the room renamed. */
  update() {
    this.#messages.update();
    this.#settings.update();
  }

  /** Someone was banned or unbanned. */
  bansChanged() {
    this.#settings.bansChanged();
  }

  close() {
    cancelDialogs();
    this.#menu.destroy();
    this.#messages.destroy();
    this.#settings.destroy();
  }
}
