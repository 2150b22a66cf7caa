import { createHash } from 'node:crypto';
import { openRedis, type RedisClient, type RedisTarget } from '@io-session/store';
import { Queue, type JobsOptions } from 'bullmq';
import { defaultKeyPrefix, defaultRedisTarget } from './connection.js';
import { workerDefaults } from './defaults.js';
import {
  MAX_PUSH_BATCH,
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
}

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
 * delivers each message at least once to its session's clients.
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
  /** The underlying BullMQ queue, for counts, events or anything else BullMQ offers. */
  readonly queue: Queue<PushJob>;
  readonly #redis: RedisClient;
  readonly #batchSize: number;
  readonly #jobOptions: JobsOptions;

  constructor(options: PushQueueOptions = {}) {
    const prefix = options.prefix ?? defaultKeyPrefix();
    this.#batchSize = options.batchSize ?? workerDefaults.pushBatchSize;
    this.#jobOptions = options.jobOptions ?? workerDefaults.pushJobOptions;
    if (!Number.isInteger(this.#batchSize) || this.#batchSize < 1 || this.#batchSize > MAX_PUSH_BATCH)
      throw new RangeError(
        `PushQueue batchSize must be a whole number from 1 to ${MAX_PUSH_BATCH}, got ${this.#batchSize}`,
      );
    this.#redis = openRedis(options.connection ?? defaultRedisTarget(), { connectionName: 'ios-push-queue' });
    this.queue = new Queue<PushJob>(QueueName.push, {
      connection: this.#redis,
      prefix: queuePrefix(prefix),
      ...telemetryOption(options.tracing ?? tracingRequested()),
    });
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
    return this.#add('push', message, message.id && `m-${message.id}`);
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

  async #add(name: string, data: PushJob, jobId: string | undefined): Promise<string> {
    const job = await this.queue.add(name, data, this.#options(jobId));
    return job.id ?? '';
  }

  /**
   * Enqueues many messages as `{ messages: [...] }` jobs of up to `batchSize` messages each (one round trip
   * with `addBulk`); resolves with the job ids in order. A chunk whose messages all have ids gets a job id
   * derived from them, so a producer that retries the same call enqueues nothing twice.
   */
  async pushMany(messages: readonly PushJobMessage[]): Promise<string[]> {
    const checked = messages.map(pushMessage);
    const jobs: { name: string; data: PushJob; opts: JobsOptions }[] = [];
    for (let i = 0; i < checked.length; i += this.#batchSize) {
      const chunk = checked.slice(i, i + this.#batchSize);
      jobs.push({ name: 'push-batch', data: { messages: chunk }, opts: this.#options(batchJobId(chunk)) });
    }
    if (jobs.length === 0) return [];
    return (await this.queue.addBulk(jobs)).map((job) => job.id ?? '');
  }

  /** Enqueues a broadcast to every connected client of the cluster (at most once each, no receipts). */
  async broadcast(data: unknown): Promise<string> {
    if (data === undefined) throw new TypeError('broadcast needs data');
    const job = await this.queue.add('broadcast', { broadcast: true, data }, this.#options(undefined));
    return job.id ?? '';
  }

  /** Closes the queue and its Redis connection. */
  async close(): Promise<void> {
    await this.queue.close();
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
