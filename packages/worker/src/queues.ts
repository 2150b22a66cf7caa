import {
  bucketOf,
  defaultQueueShards,
  Keys,
  LayoutError,
  queueShardPrefix,
  recordedQueueShards,
  type RedisClient,
} from '@io-session/store';
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { z } from 'zod';
import { CAPPED_BACKOFF } from './backoff.js';
import type { pushJobSchema, pushMessageSchema, receiptsJobSchema, sessionEventSchema } from './schemas.js';

/**
 * Queue names (CONTRACT.md §6). Each queue has `QUEUE_SHARDS` shards, one BullMQ prefix each ({@link queuePrefix}):
 * shard 0 is `{<KEY_PREFIX>}`, the others are hash-tagged so that their slots spread over a Redis Cluster.
 */
export const QueueName = {
  push: 'push',
  receipts: 'receipts',
  sessionEvents: 'session-events',
} as const;

/**
 * The BullMQ prefix of queue shard `shard` of `shards`: `{<keyPrefix>}` for shard 0 (the only one with one shard,
 * and the one plain BullMQ producers use), `{<keyPrefix>.q<k>…}` for the others (store `queueShardPrefix`).
 */
export function queuePrefix(keyPrefix: string, shard = 0, shards = 1): string {
  return queueShardPrefix(keyPrefix, shard, shards);
}

/** The BullMQ prefixes of every shard, shard 0 first: what a consumer of all of a queue's jobs opens. */
export function queuePrefixes(keyPrefix: string, shards: number): string[] {
  return Array.from({ length: shards }, (_, shard) => queuePrefix(keyPrefix, shard, shards));
}

/** The `push` shard of a token: all pushes to one session go through one queue, so their order holds. */
export function pushShardOf(token: string, shards: number): number {
  return bucketOf(token, shards);
}

/**
 * The `receipts` and `session-events` shard of a bucket's outbox: a bucket's entries always go to one shard (so a
 * re-relayed entry meets its BullMQ deduplication id), contiguous buckets to one shard when there are fewer shards.
 */
export function relayShardOf(bucket: number, buckets: number, shards: number): number {
  return buckets >= shards ? Math.floor((bucket * shards) / buckets) : bucket % shards;
}

/**
 * The queue shard count of a cluster: the layout record's (written by the first node or worker that started),
 * else `fallback`. A consumer that writes (`claim`) records `fallback` when nothing is recorded yet, as nodes do.
 */
export async function queueShardsOf(
  redis: RedisClient,
  keyPrefix: string,
  options: { claim?: boolean; fallback?: number } = {},
): Promise<number> {
  const fallback = options.fallback ?? defaultQueueShards(redis);
  const recorded = await recordedQueueShards(redis, keyPrefix);
  if (recorded !== undefined || !options.claim) return recorded ?? fallback;
  await redis.hsetnx(new Keys(keyPrefix, 1).config, 'queueShards', fallback);
  return (await recordedQueueShards(redis, keyPrefix)) ?? fallback;
}

/**
 * The queue shards a consumer of every shard opens: the recorded count (claimed with `given` or the default when
 * none is recorded). @throws LayoutError naming QUEUE_SHARDS when `given` differs from the record
 */
export async function consumerQueueShards(
  redis: RedisClient,
  keyPrefix: string,
  given: number | undefined,
): Promise<number> {
  const shards = await queueShardsOf(redis, keyPrefix, {
    claim: true,
    ...(given ? { fallback: given } : {}),
  });
  if (given !== undefined && shards !== given)
    throw new LayoutError(
      'QUEUE_SHARDS',
      `this cluster (key prefix '${keyPrefix}') uses ${shards} queue shards but this worker was started with ` +
        `${given}: start every node and worker with the same QUEUE_SHARDS`,
    );
  return shards;
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
  // Completed jobs go at once: a retained job costs ~1 KB of Redis per session event or receipt batch. An entry
  // relayed again after a crash is still one job: nodes add each with a BullMQ deduplication id (10 min).
  removeOnComplete: true,
  removeOnFail: { age: 7 * 24 * 3600 },
};

/** The queues a node produces into: receipts and session events, each by shard. */
export interface RelayQueues {
  /** `receipts` shard by shard (index = shard). */
  receipts: Queue<ReceiptsJob>[];
  /** `session-events` shard by shard. */
  events: Queue<SessionEventJob>[];
  close(): Promise<void>;
}

/**
 * Opens every shard of the `receipts` and `session-events` queues of a key prefix on one connection. BullMQ's
 * per-queue event stream defaults to 10,000 entries (~150 B of Redis per session at 10,000 sessions for session
 * events); nothing reads it, so the streams of a queue's shards keep `eventsMaxLen` entries together (each its
 * share, at least 10).
 */
export function openRelayQueues(input: {
  connection: ConnectionOptions;
  keyPrefix: string;
  shards: number;
  eventsMaxLen: number;
  onError: (err: Error) => void;
}): RelayQueues {
  const open = <T>(name: string, prefix: string): Queue<T> => {
    const queue = new Queue<T>(name, {
      connection: input.connection,
      prefix,
      streams: { events: { maxLen: Math.max(10, Math.ceil(input.eventsMaxLen / input.shards)) } },
    });
    queue.on('error', input.onError);
    return queue;
  };
  const prefixes = queuePrefixes(input.keyPrefix, input.shards);
  const receipts = prefixes.map((prefix) => open<ReceiptsJob>(QueueName.receipts, prefix));
  const events = prefixes.map((prefix) => open<SessionEventJob>(QueueName.sessionEvents, prefix));
  return {
    receipts,
    events,
    close: async () => {
      await Promise.all([...receipts, ...events].map((queue) => queue.close()));
    },
  };
}
