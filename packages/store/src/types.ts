/**
 * Protocol spoken by a connection: 1 = legacy io-session-handler clients, 2 = clients that sent `v: 2` (one
 * `push_message` per push, acknowledged by callback), 3 = clients that sent `v: 3` (`push_batch` frames, the SDK).
 */
export type Protocol = 1 | 2 | 3;

export interface Connection {
  /** Socket.IO socket id. */
  id: string;
  /** NODE_ID of the node holding it. */
  nodeId: string;
  /** The node process instance (NODE_ID plus a per-start suffix) that registered it. */
  instance: string;
  protocol: Protocol;
}

export type SessionStatus = 'connected' | 'grace';

export interface SessionRecord {
  token: string;
  /** Id of this session lifetime: a token that reconnects after its session ended gets a new one. */
  sid: string;
  createdAt: number;
  connections: Connection[];
  data: unknown;
  status: SessionStatus;
  /** While in grace: when the session ends unless a connection arrives (ms since epoch, Redis clock). */
  graceUntil?: number;
}

/** A stored message waiting for an acknowledgement, as a node sends it. */
export interface PendingMessage {
  /** Its number in the session: pushes to a session are numbered 1, 2, … in the order they were stored. */
  seq: number;
  id: string;
  /** The data as stored: canonical JSON text. */
  text: string;
  /** When it was stored (Redis clock, ms). */
  ts: number;
}

/** What one session lifecycle event looks like everywhere: outbox, queue job, in-process listeners. */
export interface SessionEvent {
  type: 'session.started' | 'session.ended';
  token: string;
  sid: string;
  /** Socket id of the session's first connection (started) or last connection (ended), as the seed reports. */
  id: string;
  status: 1 | 0;
  at: number;
  reason?: 'grace' | 'logout' | 'reaped';
  /** On `session.started`: the sid of the token's previous lifetime when it ended within the last minute. */
  prev?: string;
}

export interface Receipt {
  id: string;
  token: string;
  data: unknown;
  deliveredAt: number;
  nodeId: string;
  socketId: string;
  /** The group, when the message was a group push (read from its id: messages/message-ids.ts). */
  group?: string;
}

/** One entry of a bucket outbox, decoded: a session event, or the receipts one acknowledgement call settled. */
export type OutboxItem =
  | { kind: 'event'; bucket: number; entryId: string; event: SessionEvent }
  | { kind: 'receipts'; bucket: number; entryId: string; receipts: Receipt[] };

export type MessageStatus = 'pending' | 'delivered' | 'expired';

export interface MessageInfo {
  id: string;
  token: string;
  status: MessageStatus;
  deliveredAt?: number;
}
