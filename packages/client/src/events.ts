/** Codes the server sends in `session_error` when it refuses a client event (CONTRACT §4). */
export type SessionErrorCode =
  | 'malformed'
  | 'forbidden_token'
  | 'payload_too_large'
  | 'rate_limited'
  | 'unknown_message'
  | 'expired_message'
  | 'unavailable'
  /** The credential expired; the server closes the connection and the client reconnects with `getToken`. */
  | 'token_expired';

/**
 * Codes of the client's `error` event:
 * - `invalid_token`: the server refused the credential at the handshake (bad or expired JWT, bad token);
 * - `connect_failed`: any other failed handshake (network, server draining, timeout);
 * - `token_unavailable`: `getToken` threw or rejected;
 * - `handler_error`: a push handler threw or rejected (the message stays pending and comes back);
 * - `malformed_push`: the server sent a push that is not an envelope `{ id, data, ts }` of the protocol asked
 *   for, or pushes of the other protocol (a server that does not speak it);
 * - the server's {@link SessionErrorCode}s, from `session_error`.
 */
export type ClientErrorCode =
  | 'invalid_token'
  | 'connect_failed'
  | 'token_unavailable'
  | 'handler_error'
  | 'malformed_push'
  | SessionErrorCode;

/** Payload of the `error` event. */
export interface ClientError {
  code: ClientErrorCode;
  message: string;
  /** Where it came from: the server's `session_error`, a failed handshake, or the client itself. */
  source: 'session_error' | 'connect_error' | 'client';
  /** The message id, for `handler_error`. */
  id?: string;
  /** The original error, when there is one. */
  cause?: unknown;
}

/** Events of a {@link SessionClient}, with their payloads. */
export interface SessionClientEvents {
  /** A connection is up (the first one, or a reconnect). Pending pushes follow. */
  connected: { socketId: string };
  /** The connection is gone; `willReconnect` tells whether the client tries again by itself. */
  disconnected: { reason: string; willReconnect: boolean };
  /** A reconnect attempt is scheduled in `delayMs` (attempt 1 is the first retry). */
  reconnecting: { attempt: number; delayMs: number };
  /** The server ended the session (`logout`). The client stops reconnecting. */
  logout: { token: string };
  error: ClientError;
}

/** What a push handler learns about a message besides its data. */
export interface PushMeta {
  /** Message id: the same on every re-delivery. */
  id: string;
  /** When the message was pushed (ms since epoch, server clock). */
  ts: number;
  /** True for broadcasts: they are sent at most once and not acknowledged. */
  broadcast: boolean;
}

/** Handles one push. The message is acknowledged when the handler returns (or its promise resolves). */
export type PushHandler = (data: unknown, meta: PushMeta) => void | Promise<void>;

/**
 * Where the client is in its life. `disconnected`: not connected and not trying (reconnection is off, or
 * the server refused a fixed `token`); `reconnect()` starts again.
 */
export type ClientState =
  'connecting' | 'connected' | 'reconnecting' | 'disconnected' | 'logged_out' | 'closed';
