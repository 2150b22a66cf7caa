/** Protocol spoken by a connection: 1 = legacy io-session-handler clients, 2 = clients that sent `v: 2`. */
export type Protocol = 1 | 2;

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

export interface PendingMessage {
  id: string;
  data: unknown;
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
}

export interface Receipt {
  id: string;
  token: string;
  data: unknown;
  deliveredAt: number;
  nodeId: string;
  socketId: string;
}

/** One entry of a bucket outbox, decoded. */
export type OutboxItem =
  | { kind: 'event'; bucket: number; entryId: string; event: SessionEvent }
  | { kind: 'receipt'; bucket: number; entryId: string; receipt: Receipt };

export type MessageStatus = 'pending' | 'delivered' | 'expired';

export interface MessageInfo {
  id: string;
  token: string;
  status: MessageStatus;
  deliveredAt?: number;
}
