import type { Receipt, SessionEvent } from '@io-session/store';

/** The seed's connection event: `status` 1 when a session starts, 0 when it ends (once each per lifetime). */
export interface ConnectionEvent {
  /** Socket id of the session's first connection (status 1) or last connection (status 0). */
  id: string;
  token: string;
  status: 0 | 1;
}

/** A delivery receipt, as the seed's `onMessageDelivered` reports it, plus the message id. */
export interface DeliveredEvent {
  token: string;
  data: unknown;
  id: string;
  /** The group, when the message was a group push (CONTRACT.md §10). */
  group?: string;
}

export interface ClientDataEvent {
  token: string;
  data: unknown;
}

/** Typed events of a SessionHandler. */
export interface SessionHandlerEvents {
  connection: [ConnectionEvent];
  delivered: [DeliveredEvent, Receipt];
  clientData: [ClientDataEvent];
  /** Full lifecycle events (with the session id and the end reason). */
  session: [SessionEvent];
  /**
   * The node cannot go on: the cluster's Redis came to hold another layout (another BUCKETS after Redis lost its
   * data and another node started first). The node has stopped serving; `io-session node` exits 2.
   */
  fatal: [Error];
}
