import type { Receipt, SessionEvent } from '@io-session/store';

/** Queue names (CONTRACT.md §6). Their BullMQ prefix is `{<KEY_PREFIX>}`: one hash slot per prefix on Redis Cluster. */
export const QueueName = {
  push: 'push',
  receipts: 'receipts',
  sessionEvents: 'session-events',
} as const;

export function queuePrefix(keyPrefix: string): string {
  return `{${keyPrefix}}`;
}

/** One push: to a token (at-least-once, receipted). */
export interface PushJobMessage {
  token: string;
  data: unknown;
  /** Message id; pushing the same id twice stores the message once. Generated when absent. */
  id?: string;
  /** How long the message waits for its session's clients; default MESSAGE_TTL_MS. */
  ttlMs?: number;
}

/** Job data of the `push` queue: one message, a broadcast, or a batch of messages. */
export type PushJob = PushJobMessage | { broadcast: true; data: unknown } | { messages: PushJobMessage[] };

/** Job data of the `receipts` queue: nodes batch several receipts into one job. */
export interface ReceiptsJob {
  receipts: Receipt[];
}

/** Job data of the `session-events` queue: one lifecycle event. */
export type SessionEventJob = SessionEvent;

/** BullMQ job ids may not contain ':'. */
export function safeJobId(id: string): string {
  return id.replace(/:/g, '_');
}
