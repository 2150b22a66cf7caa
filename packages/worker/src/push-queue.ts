import { createHash } from 'node:crypto';
import { openRedis, recordedQueueShards, type RedisClient, type RedisTarget } from '@io-session/store';
import { Queue, type JobsOptions } from 'bullmq';
import { defaultKeyPrefix, defaultRedisTarget } from './connection.js';
import { workerDefaults } from './defaults.js';
import {
  MAX_PUSH_BATCH,
  pushShardOf,
  QueueName,
  queuePrefix,
  safeJobId,
  type PushJob,
  type PushJobMessage,
} from './queues.js';
import type { z } from 'zod';
import { describeIssues, pushJobVariants, pushMessageSchema } from './schemas.js';
import { telemetryOption } from './tracing/bullmq-telemetry.js';
import { tracingRequested } from './tracing/trace-context.js';

export interface PushQueueOptions {
  /**
   * Redis: a URL, `{ cluster: ['host:port', …] }` seeds, or an ioredis client (duplicated, so that the
   * queue owns its connection). Default: `REDIS_CLUSTER` seeds if set, else `REDIS_URL`, else
   * `redis://127.0.0.1:6379`.
   */
  connection?: RedisTarget;
  /** The cluster's `KEY_PREFIX`; the queue lives under the BullMQ prefix `{<prefix>}`. Default `KEY_PREFIX` or `ios`. */
  prefix?: string;
  /** Most messages carried by one `{ messages: [...] }` job of {@link PushQueue.pushMany}, at most `MAX_PUSH_BATCH`. Default `workerDefaults.pushBatchSize`. */
  batchSize?: number;
  /** Options of every job added. Default `workerDefaults.pushJobOptions`. */
  jobOptions?: JobsOptions;
  /**
   * BullMQ's OpenTelemetry spans (bullmq-otel) for every job added, through the app's registered tracer provider:
   * the push's trace starts here, or joins the span active at the call, and goes on through the node, the client's
   * acknowledgement and the receipt (README: Tracing). Default: on when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
   * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set.
   */
  tracing?: boolean;
  /**
   * Shards of the `push` queue (the nodes' QUEUE_SHARDS). Default: the count in the cluster's layout record, read
   * at the first push; until a node has written one, every job goes to shard 0, which nodes always consume.
   */
  queueShards?: number;
}

/** How long a PushQueue that found no layout record waits before it reads it again, in ms. */
const RECORD_RETRY_MS = 5000;

/** Options of one push. */
export interface PushOptions {
  /**
   * Message id. Pushing the same id again (a producer that retries) enqueues nothing while the first job is
   * kept (an hour, or the last 100,000 jobs), and the nodes store a message id once anyway.
   * Without one, the node derives the id from the job id.
   */
  id?: string;
  /** How long the message waits for its session's clients. Default the nodes' `MESSAGE_TTL_MS`. */
  ttlMs?: number;
}

/** Job options of every job a PushQueue adds (`workerDefaults.pushJobOptions`). */
export const pushJobOptions: JobsOptions = workerDefaults.pushJobOptions;

/**
 * The app-facing producer of the `push` queue (CONTRACT.md §6): every io-session node consumes it and
 * delivers each message at least once to its session's clients. With several queue shards (QUEUE_SHARDS, a Redis
 * Cluster) each message goes to its token's shard, so that one session's pushes keep their order.
 *
 * @example
 * ```ts
 * import { PushQueue } from '@io-session/worker';
 * const queue = new PushQueue({ connection: 'redis://redis:6379', prefix: 'ios' });
 * await queue.push('user-42', { text: 'hello' }, { id: 'order-17-shipped' });
 * await queue.push(['user-1', 'user-2'], { text: 'zone 5 closes' }, { id: 'zone-5-closing' });
 * await queue.pushToGroup('zone:5', { text: 'zone 5 closes' }, { id: 'zone-5-closing' });
 * await queue.pushMany([{ token: 'a', data: 1 }, { token: 'b', data: 2 }]);
 * await queue.broadcast({ maintenance: true });
 * await queue.close();
 * ```
 */
export class PushQueue {
  /** The BullMQ queue of shard 0 (the only one on a single Redis), for counts, events or anything else BullMQ offers. */
  readonly queue: Queue<PushJob>;
  readonly #redis: RedisClient;
  readonly #prefix: string;
  #shards: Queue<PushJob>[] | undefined;
  #reading: Promise<Queue<PushJob>[]> | undefined;
  #readAt = 0;
  readonly #batchSize: number;
  readonly #jobOptions: JobsOptions;
  readonly #telemetry: ReturnType<typeof telemetryOption>;

  constructor(options: PushQueueOptions = {}) {
    const prefix = options.prefix ?? defaultKeyPrefix();
    this.#batchSize = options.batchSize ?? workerDefaults.pushBatchSize;
    this.#jobOptions = options.jobOptions ?? workerDefaults.pushJobOptions;
    if (!Number.isInteger(this.#batchSize) || this.#batchSize < 1 || this.#batchSize > MAX_PUSH_BATCH)
      throw new RangeError(
        `PushQueue batchSize must be a whole number from 1 to ${MAX_PUSH_BATCH}, got ${this.#batchSize}`,
      );
    this.#redis = openRedis(options.connection ?? defaultRedisTarget(), { connectionName: 'ios-push-queue' });
    this.#prefix = prefix;
    this.#telemetry = telemetryOption(options.tracing ?? tracingRequested());
    this.queue = new Queue<PushJob>(QueueName.push, {
      connection: this.#redis,
      prefix: queuePrefix(prefix),
      ...this.#telemetry,
    });
    if (options.queueShards !== undefined) this.#shards = this.#open(options.queueShards);
  }

  /** Every shard's BullMQ queue, shard 0 first. */
  async shardQueues(): Promise<Queue<PushJob>[]> {
    if (this.#shards) return this.#shards;
    if (!this.#reading || Date.now() - this.#readAt > RECORD_RETRY_MS) {
      this.#readAt = Date.now();
      this.#reading = recordedQueueShards(this.#redis, this.#prefix).then((shards) =>
        shards === undefined ? [this.queue] : (this.#shards = this.#open(shards)),
      );
    }
    return this.#reading;
  }

  #open(shards: number): Queue<PushJob>[] {
    if (!Number.isInteger(shards) || shards < 1)
      throw new RangeError(`PushQueue queueShards must be a whole number ≥ 1, got ${shards}`);
    return Array.from({ length: shards }, (_, shard) =>
      shard === 0
        ? this.queue
        : new Queue<PushJob>(QueueName.push, {
            connection: this.#redis,
            prefix: queuePrefix(this.#prefix, shard, shards),
            ...this.#telemetry,
          }),
    );
  }

  async #queueOf(token: string): Promise<Queue<PushJob>> {
    const queues = await this.shardQueues();
    return queues[pushShardOf(token, queues.length)]!;
  }

  /**
   * Enqueues one message to a session token, or to each of 1 to 1,000 distinct tokens (CONTRACT.md §10: each its
   * own message, id and receipt; with `id`, the recipients' ids are derived from it); resolves with the job id once
   * Redis has the job. The job id is `m-<id>` (one token) or `t-<id>` (several; `:` replaced by `_`) with an id.
   * @throws TypeError for an empty, oversized or repeating `tokens` or a bad field: nothing is enqueued
   */
  async push(token: string | readonly string[], data: unknown, options: PushOptions = {}): Promise<string> {
    if (typeof token !== 'string') {
      const job = checkedJob(
        pushJobVariants.tokens,
        { tokens: [...token], data, ...defined(options) },
        'push',
      );
      return this.#add('push-tokens', job, job.id && `t-${job.id}`);
    }
    const message = pushMessage({ token, data, ...options });
    return this.#add('push', message, message.id && `m-${message.id}`, await this.#queueOf(token));
  }

  /**
   * Enqueues one message to every session that is a member of `group` when a node takes the job (CONTRACT.md §10):
   * each member its own message and receipt, which carries `group`. With `id`, the members' ids are derived from it,
   * and the job id is `g-<group>-<id>`.
   * @throws TypeError for a malformed group name or field: nothing is enqueued
   */
  async pushToGroup(group: string, data: unknown, options: PushOptions = {}): Promise<string> {
    const job = checkedJob(
      pushJobVariants.group,
      { group, data, ...defined(options) },
      `push to group ${group}`,
    );
    return this.#add('push-group', job, job.id && `g-${group}-${job.id}`);
  }

  /** Adds one job; to `queue` (a token's shard), or to shard 0 for jobs of several tokens, a group or everyone. */
  async #add(name: string, data: PushJob, jobId: string | undefined, queue = this.queue): Promise<string> {
    const job = await queue.add(name, data, this.#options(jobId));
    return job.id ?? '';
  }

  /**
   * Enqueues many messages as `{ messages: [...] }` jobs of up to `batchSize` messages each (one round trip
   * with `addBulk` per queue shard: each message goes to its token's shard, in the order given); resolves with the
   * job ids, shard by shard. A chunk whose messages all have ids gets a job id derived from them, so a producer
   * that retries the same call enqueues nothing twice.
   */
  async pushMany(messages: readonly PushJobMessage[]): Promise<string[]> {
    const checked = messages.map(pushMessage);
    const queues = await this.shardQueues();
    const byShard = queues.map((): PushJobMessage[] => []);
    for (const m of checked) byShard[pushShardOf(m.token, queues.length)]!.push(m);
    const added = await Promise.all(
      byShard.map(async (shardMessages, shard) => {
        const jobs: { name: string; data: PushJob; opts: JobsOptions }[] = [];
        for (let i = 0; i < shardMessages.length; i += this.#batchSize) {
          const chunk = shardMessages.slice(i, i + this.#batchSize);
          jobs.push({
            name: 'push-batch',
            data: { messages: chunk },
            opts: this.#options(batchJobId(chunk)),
          });
        }
        return jobs.length === 0 ? [] : queues[shard]!.addBulk(jobs);
      }),
    );
    return added.flat().map((job) => job.id ?? '');
  }

  /** Enqueues a broadcast to every connected client of the cluster (at most once each, no receipts); on shard 0. */
  async broadcast(data: unknown): Promise<string> {
    if (data === undefined) throw new TypeError('broadcast needs data');
    const job = await this.queue.add('broadcast', { broadcast: true, data }, this.#options(undefined));
    return job.id ?? '';
  }

  /** Closes the queue and its Redis connection. */
  async close(): Promise<void> {
    await Promise.all((this.#shards ?? [this.queue]).map((queue) => queue.close()));
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }

  #options(jobId: string | undefined): JobsOptions {
    return jobId ? { ...this.#jobOptions, jobId: safeJobId(jobId) } : this.#jobOptions;
  }
}

/** Checks one message against the job schema and returns it in the job's shape (no `undefined` fields). */
function pushMessage(message: PushJobMessage): PushJobMessage {
  const { token, data, id, ttlMs } = message;
  if (data === undefined) throw new TypeError(`push to ${String(token)} needs data`);
  const parsed = pushMessageSchema.safeParse(message);
  if (!parsed.success) throw new TypeError(`push to ${String(token)}: ${describeIssues(parsed.error)}`);
  return {
    token,
    data,
    ...(id !== undefined ? { id } : {}),
    ...(ttlMs !== undefined ? { ttlMs } : {}),
  };
}

function defined(options: PushOptions): PushOptions {
  return {
    ...(options.id !== undefined ? { id: options.id } : {}),
    ...(options.ttlMs !== undefined ? { ttlMs: options.ttlMs } : {}),
  };
}

/** Checks a job against its schema. @throws TypeError naming the bad fields */
function checkedJob<T extends { data?: unknown; id?: string | undefined }>(
  schema: z.ZodType<T>,
  job: T,
  what: string,
): T {
  if (job.data === undefined) throw new TypeError(`${what} needs data`);
  const parsed = schema.safeParse(job);
  if (!parsed.success) throw new TypeError(`${what}: ${describeIssues(parsed.error)}`);
  return job;
}

/** `b-<sha256 of the ids>` when every message of a chunk has an id; none otherwise. */
function batchJobId(chunk: PushJobMessage[]): string | undefined {
  if (!chunk.every((m) => m.id !== undefined)) return undefined;
  const hash = createHash('sha256');
  for (const m of chunk) hash.update(`${m.id}\n`);
  return `b-${hash.digest('base64url').slice(0, 32)}`;
}
