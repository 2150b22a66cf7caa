import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { z } from 'zod';
import { CAPPED_BACKOFF } from './backoff.js';
import type { pushJobSchema, pushMessageSchema, receiptsJobSchema, sessionEventSchema } from './schemas.js';

/** Queue names (CONTRACT.md §6). Their BullMQ prefix is `{<KEY_PREFIX>}`: one hash slot per prefix on Redis Cluster. */
export const QueueName = {
  push: 'push',
  receipts: 'receipts',
  sessionEvents: 'session-events',
} as const;

export function queuePrefix(keyPrefix: string): string {
  return `{${keyPrefix}}`;
}

/** One push to a token (at-least-once, receipted): `{ token, data, id?, ttlMs? }` (schemas.ts `pushMessageSchema`). */
export type PushJobMessage = z.infer<typeof pushMessageSchema>;

/**
 * Most messages one `{ messages: [...] }` job may carry: nodes fail a larger batch job once, whole, naming
 * `messages` (`PushQueue#pushMany` splits into jobs of at most this many).
 */
export const MAX_PUSH_BATCH = 1000;

/**
 * Job data of the `push` queue (schemas.ts `pushJobSchema`): one message, a batch of messages, a broadcast, or
 * one message to several tokens or to a group (CONTRACT.md §10).
 */
export type PushJob = z.infer<typeof pushJobSchema>;

/** Job data of the `receipts` queue: nodes batch several receipts into one job (schemas.ts `receiptsJobSchema`). */
export type ReceiptsJob = z.infer<typeof receiptsJobSchema>;

/** Job data of the `session-events` queue: one lifecycle event (schemas.ts `sessionEventSchema`). */
export type SessionEventJob = z.infer<typeof sessionEventSchema>;

/** BullMQ job ids may not contain ':'. */
export function safeJobId(id: string): string {
  return id.replace(/:/g, '_');
}

/** Job options of every `receipts` and `session-events` job a node adds: retried with backoff by the worker. */
export const relayJobOptions: JobsOptions = {
  attempts: 1_000_000,
  backoff: { type: CAPPED_BACKOFF },
  // Completed jobs go at once: a retained job costs ~1 KB of Redis per session event or receipt batch. A job
  // relayed again after a crash is then accepted again; the worker's dedupe drops the repeat.
  removeOnComplete: true,
  removeOnFail: { age: 7 * 24 * 3600 },
};

/** The queues a node produces into: receipts and session events. */
export interface RelayQueues {
  receipts: Queue<ReceiptsJob>;
  events: Queue<SessionEventJob>;
  close(): Promise<void>;
}

/**
 * Opens the `receipts` and `session-events` queues of a key prefix on a connection. BullMQ's per-queue event
 * stream defaults to 10,000 entries (~150 B of Redis per session at 10,000 sessions for session events); nothing
 * reads it, so it is kept to `eventsMaxLen`.
 */
export function openRelayQueues(input: {
  connection: ConnectionOptions;
  keyPrefix: string;
  eventsMaxLen: number;
  onError: (err: Error) => void;
}): RelayQueues {
  const options = {
    connection: input.connection,
    prefix: queuePrefix(input.keyPrefix),
    streams: { events: { maxLen: input.eventsMaxLen } },
  };
  const receipts = new Queue<ReceiptsJob>(QueueName.receipts, options);
  const events = new Queue<SessionEventJob>(QueueName.sessionEvents, options);
  receipts.on('error', input.onError);
  events.on('error', input.onError);
  return {
    receipts,
    events,
    close: async () => {
      await Promise.all([receipts.close(), events.close()]);
    },
  };
}
