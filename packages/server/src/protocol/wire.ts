import type { PendingMessage } from '@io-session/store';
import type { SessionErrorPayload } from './session-error.js';

/** The event every push travels as, server → client. */
export const PUSH_EVENT = 'push_message';

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

export function envelope(message: PendingMessage): PushEnvelope {
  return { id: message.id, data: message.data, ts: message.ts };
}

/** Reads the protocol version a handshake asked for (`v: 2` in auth or query). */
export function protocolOf(auth: Record<string, unknown>, query: Record<string, unknown>): 1 | 2 {
  const v = auth.v ?? query.v;
  return v === 2 || v === '2' ? 2 : 1;
}
