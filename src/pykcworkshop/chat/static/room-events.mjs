// The room-events socket (/room/<hash>/room-events, docs/protocol.md "The room-events
// socket"): what moderation did in the room, as {"type": ..., ...} events, so the open view
// updates live. The server only sends on it; unknown event types are ignored, so the
// server may add some.

import { pathSegment } from "./api.mjs";
import { ReconnectingSocket } from "./socket.mjs";

export class RoomEvents {
  #socket;

  /**
   * @param {object} options
   *   roomHash, session, monitor, onGiveUp(reason, {code})
   *   handlers   {"<type>": (event) => …}: one per event type of interest
   *   onOpen()   after every handshake: events sent before it were missed, so refetch
   */
  constructor({ roomHash, session, monitor, onGiveUp, handlers, onOpen }) {
    this.#socket = new ReconnectingSocket(`/room/${pathSegment(roomHash)}/room-events`, {
      name: "room events",
      bearer: () => session.user_token,
      onMessage: (event) => {
        if (event && typeof event.type === "string" && Object.hasOwn(handlers, event.type)) {
          handlers[event.type](event);
        }
      },
      onGiveUp,
      onOpen: () => onOpen?.(),
    });
    monitor?.track(this.#socket);
  }

  start() {
    this.#socket.start();
  }

  close() {
    this.#socket.close();
  }
}
