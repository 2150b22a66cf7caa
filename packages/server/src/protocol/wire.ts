import type { SessionErrorPayload } from './session-error.js';

/** The event every push travels as to legacy and v2 clients, server → client. */
export const PUSH_EVENT = 'push_message';

/** The event v3 clients get: a frame of pushes `[{ id, data, ts }, …]`, acknowledged once. */
export const BATCH_EVENT = 'push_batch';

/** Protocol version 2 push: what v2 clients receive as `push_message`. */
export interface PushEnvelope {
  id: string;
  data: unknown;
  ts: number;
}

/** Events the server emits to clients (typed for socket.io). */
export interface ServerToClientEvents {
  push_message: (payload: unknown, ack?: (...args: unknown[]) => void) => void;
  logout: () => void;
  session_error: (error: SessionErrorPayload) => void;
}

/** Events clients emit (payloads untrusted: validated in client-events.ts). */
export interface ClientToServerEvents {
  client_data: (payload: unknown) => void;
  push_message_delivery: (payload: unknown) => void;
}

/** Reads the protocol version a handshake asked for (`v: 2` or `v: 3` in auth or query); anything else is legacy. */
export function protocolOf(auth: Record<string, unknown>, query: Record<string, unknown>): 1 | 2 | 3 {
  const v = auth.v ?? query.v;
  if (v === 3 || v === '3') return 3;
  return v === 2 || v === '2' ? 2 : 1;
}
