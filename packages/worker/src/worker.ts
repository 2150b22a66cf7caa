import { EventEmitter } from 'node:events';
import {
  openRedis,
  silentLogger,
  type Logger,
  type Receipt,
  type RedisClient,
  type RedisTarget,
  type SessionEvent,
} from '@io-session/store';
import { Worker, type Job } from 'bullmq';
import { backoffStrategy } from './backoff.js';
import { Batcher } from './batcher.js';
import { defaultKeyPrefix, defaultRedisTarget } from './connection.js';
import { workerDefaults } from './defaults.js';
import { eventIdOf, eventOf, receiptsOf } from './jobs.js';
import { QueueName, queuePrefix, type ReceiptsJob, type SessionEventJob } from './queues.js';
import type { SeenScope } from './seen-keys.js';
import { SeenMarkers } from './seen-markers.js';

/** What `connectionListener` gets: the seed's `{ id, token, status }`, plus the full session event. */
export type ConnectionListenerEvent = SessionEvent;

/** A handler may be synchronous or return a Promise; a throw or a rejection fails the job, which is retried. */
type Handler<T> = (value: T) => unknown;

export interface IoSessionWorkerOptions {
  /**
   * Redis: a URL, `{ cluster: ['host:port', …] }` seeds, or an ioredis client (duplicated with
   * `maxRetriesPerRequest: null`, as BullMQ workers need). Default: `REDIS_CLUSTER` seeds if set, else
   * `REDIS_URL`, else `redis://127.0.0.1:6379`.
   */
  connection?: RedisTarget;
  /** The cluster's `KEY_PREFIX` (queues under the BullMQ prefix `{<prefix>}`). Default `KEY_PREFIX` or `ios`. */
  prefix?: string;
  /** Called once per delivered message (the seed's `onMessageDelivered`, plus delivery details). */
  onMessageDelivered?: Handler<Receipt>;
  /** Called with the receipts of one job (nodes batch up to 500), each receipt once. */
  onReceipts?: Handler<Receipt[]>;
  /** Called once per session start (`status: 1`) and end (`status: 0`), as the seed's `connectionListener`. */
  connectionListener?: Handler<ConnectionListenerEvent>;
  /** Called with session events, each once; the events of jobs that run at once are grouped into one call. */
  onSessionEvents?: Handler<SessionEvent[]>;
  /** `receipts` jobs processed at once. Default `workerDefaults.concurrency`. */
  concurrency?: number;
  /** `session-events` jobs processed at once (one event each; this bounds an `onSessionEvents` batch). Default `workerDefaults.eventsConcurrency`. */
  eventsConcurrency?: number;
  /** How long an item handed to a handler is remembered, so that no job hands it over again. Default `workerDefaults.dedupeTtlMs`. */
  dedupeTtlMs?: number;
  /**
   * Lock of a running job, renewed while it runs. When a worker process dies, its jobs run again after one
   * to two lock durations (BullMQ's stalled-job check runs at this interval too). Default `workerDefaults.lockDurationMs`.
   */
  lockDurationMs?: number;
  /** How often a job may stall (its worker died while running it) before BullMQ fails it for good. Default `workerDefaults.maxStalledCount`. */
  maxStalledCount?: number;
  /** Lifecycle at info, job failures at warn, per-job details at debug. Default: silent. */
  logger?: Logger;
}

/** How one job went. */
export interface JobOutcome {
  queue: string;
  jobId: string;
  /** Distinct items in the job. */
  items: number;
  /** Items handed to a handler by this run; the others had been handed over already (or by another job). */
  handed: number;
}

/** A failed run of a job. */
export interface JobFailure {
  queue: string;
  jobId: string;
  /** Runs that failed so far, this one included. */
  attemptsMade: number;
  error: Error;
  /** True when BullMQ gave up on the job (no attempts left, or unrecoverable); else it is retried with backoff. */
  final: boolean;
}

/** Typed events of an {@link IoSessionWorker}. */
export interface IoSessionWorkerEvents {
  /** A job's items reached the handlers (or had reached them before). */
  completed: [JobOutcome];
  /** A handler threw or a job was malformed; see `final`. */
  failed: [JobFailure];
  /** Redis or BullMQ trouble outside a job (reconnects are automatic). Emitted only when someone listens. */
  error: [Error];
}

/** A per-item handler, with the seen markers in front of it. */
interface EachStage<T> {
  scope: SeenScope;
  each: Handler<T>;
  batch?: undefined;
}

/** A batch handler, with the seen markers in front of it. */
interface BatchStage<T> {
  scope: SeenScope;
  batch: (items: T[]) => unknown;
  each?: undefined;
}

type Stage<T> = EachStage<T> | BatchStage<T>;

type ResolvedOptions = Required<Omit<IoSessionWorkerOptions, keyof Handlers>> & Handlers;
type Handlers = Pick<
  IoSessionWorkerOptions,
  'onMessageDelivered' | 'onReceipts' | 'connectionListener' | 'onSessionEvents'
>;

/** The numeric options, each a whole number (≥ 1; `maxStalledCount` ≥ 0). */
const countedOptions = [
  'concurrency',
  'eventsConcurrency',
  'dedupeTtlMs',
  'lockDurationMs',
  'maxStalledCount',
] as const;

/** The one place where options meet their defaults. */
function resolveOptions(options: IoSessionWorkerOptions): ResolvedOptions {
  const resolved = {
    ...Object.fromEntries(countedOptions.map((name) => [name, workerDefaults[name]])),
    connection: defaultRedisTarget(),
    prefix: defaultKeyPrefix(),
    logger: silentLogger,
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
  } as ResolvedOptions;
  for (const name of countedOptions) {
    const value = resolved[name];
    const least = name === 'maxStalledCount' ? 0 : 1;
    if (!Number.isSafeInteger(value) || value < least)
      throw new RangeError(`createWorker option ${name} must be a whole number ≥ ${least}, got ${value}`);
  }
  return resolved;
}

/**
 * Starts a worker that consumes the `receipts` and `session-events` queues of an io-session cluster and
 * hands each receipt and each session event to the app's handlers, once per handler (CONTRACT.md §6).
 * A queue is consumed only when a handler for it is given.
 *
 * @example
 * ```ts
 * import { createWorker } from '@io-session/worker';
 * const worker = createWorker({
 *   connection: 'redis://redis:6379',
 *   onMessageDelivered: async ({ id, token, deliveredAt }) => db.markDelivered(id, token, deliveredAt),
 *   connectionListener: ({ token, status }) => console.log(token, status ? 'online' : 'offline'),
 * });
 * process.on('SIGTERM', () => void worker.close());
 * ```
 */
export function createWorker(options: IoSessionWorkerOptions): IoSessionWorker {
  return new IoSessionWorker(options);
}

/**
 * BullMQ is at-least-once: a job runs again when its worker dies, and nodes may relay the same receipt in
 * two jobs. Seen markers in Redis (see {@link SeenMarkers}) make the handlers see each item once; only an
 * item whose handler resolved but whose marker was not yet written when the process died is handed over
 * again. A handler that throws fails the job; BullMQ retries it with the `capped` backoff, and the items
 * handed over before the throw are skipped on the retry.
 */
export class IoSessionWorker extends EventEmitter<IoSessionWorkerEvents> {
  /** The key prefix the worker works for. */
  readonly prefix: string;
  readonly #redis: RedisClient;
  readonly #seen: SeenMarkers;
  readonly #logger: Logger;
  readonly #workers: Worker[] = [];
  readonly #options: ResolvedOptions;
  #closing: Promise<void> | undefined;

  constructor(options: IoSessionWorkerOptions) {
    super();
    const o = resolveOptions(options);
    this.#options = o;
    this.prefix = o.prefix;
    this.#logger = o.logger;
    const receiptStages = this.#receiptStages(o);
    const eventStages = this.#eventStages(o);
    if (receiptStages.length + eventStages.length === 0)
      throw new TypeError(
        'createWorker needs a handler: onMessageDelivered, onReceipts, connectionListener or onSessionEvents',
      );
    this.#redis = openRedis(o.connection, { connectionName: 'ios-worker', maxRetriesPerRequest: null });
    this.#redis.on('error', (err: Error) => this.#trouble(err));
    this.#seen = new SeenMarkers(this.#redis, o.prefix, o.dedupeTtlMs);
    if (receiptStages.length > 0)
      this.#consume<ReceiptsJob>(QueueName.receipts, o.concurrency, (job) =>
        this.#deliver(job, receiptsOf(job), (r) => r.id, receiptStages),
      );
    if (eventStages.length > 0)
      this.#consume<SessionEventJob>(QueueName.sessionEvents, o.eventsConcurrency, (job) =>
        this.#deliver(job, [eventOf(job)], eventIdOf, eventStages),
      );
  }

  /** The queues this worker consumes. */
  get queues(): string[] {
    return this.#workers.map((w) => w.name);
  }

  /** Resolves once every queue's consumer is connected. */
  async ready(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.waitUntilReady()));
  }

  /** Graceful: takes no new job, waits for the running ones to finish, then releases Redis. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all(this.#workers.map((w) => w.close()));
      await this.#redis.quit().catch(() => this.#redis.disconnect());
      this.#logger.info({ prefix: this.prefix }, 'io-session worker closed');
    })();
    return this.#closing;
  }

  #receiptStages(o: ResolvedOptions): Stage<Receipt>[] {
    const stages: Stage<Receipt>[] = [];
    if (o.onReceipts) stages.push({ scope: 'onReceipts', batch: o.onReceipts });
    if (o.onMessageDelivered) stages.push({ scope: 'onMessageDelivered', each: o.onMessageDelivered });
    return stages;
  }

  #eventStages(o: ResolvedOptions): Stage<SessionEvent>[] {
    const stages: Stage<SessionEvent>[] = [];
    if (o.onSessionEvents) {
      const batcher = new Batcher(o.onSessionEvents);
      stages.push({ scope: 'onSessionEvents', batch: (events) => batcher.submit(events) });
    }
    if (o.connectionListener) stages.push({ scope: 'connectionListener', each: o.connectionListener });
    return stages;
  }

  #consume<D>(name: string, concurrency: number, process: (job: Job<D>) => Promise<JobOutcome>): void {
    const { lockDurationMs, maxStalledCount } = this.#options;
    const worker = new Worker<D, JobOutcome>(name, process, {
      connection: this.#redis,
      prefix: queuePrefix(this.prefix),
      concurrency,
      lockDuration: lockDurationMs,
      stalledInterval: lockDurationMs,
      maxStalledCount,
      settings: { backoffStrategy },
    });
    worker.on('completed', (_job, outcome) => this.emit('completed', outcome));
    worker.on('failed', (job, error) => this.#failed(name, job, error));
    worker.on('error', (err) => this.#trouble(err));
    worker.on('ready', () =>
      this.#logger.info({ queue: name, prefix: this.prefix }, 'io-session worker ready'),
    );
    this.#workers.push(worker);
  }

  async #deliver<T>(
    job: Job,
    items: T[],
    idOf: (item: T) => string,
    stages: Stage<T>[],
  ): Promise<JobOutcome> {
    const owner = `${job.queueName}/${job.id ?? ''}`;
    const distinct = new Set(items.map(idOf)).size;
    let handed = 0;
    for (const stage of stages) {
      const claim = await this.#seen.claim(stage.scope, owner, items, idOf);
      handed = Math.max(handed, claim.claimed.length);
      this.#logger.debug(
        {
          queue: job.queueName,
          jobId: job.id,
          handler: stage.scope,
          ...claim,
          claimed: claim.claimed.length,
        },
        'job claimed',
      );
      if (claim.claimed.length === 0) continue;
      const done = new Set<string>();
      try {
        if (stage.batch) {
          await stage.batch(claim.claimed);
          await Promise.all(claim.claimed.map((item) => this.#markDone(stage.scope, idOf(item), done)));
        } else {
          await this.#each(stage, claim.claimed, idOf, done);
        }
      } catch (error) {
        const open = claim.claimed.map(idOf).filter((id) => !done.has(id));
        await this.#seen.release(stage.scope, owner, open).catch(() => undefined);
        throw error;
      }
    }
    return { queue: job.queueName, jobId: job.id ?? '', items: distinct, handed };
  }

  /** Hands items over one by one; each marker is written as soon as its handler resolved. */
  async #each<T>(
    stage: EachStage<T>,
    items: T[],
    idOf: (item: T) => string,
    done: Set<string>,
  ): Promise<void> {
    const marks: Promise<void>[] = [];
    try {
      for (const item of items) {
        await stage.each(item);
        marks.push(this.#markDone(stage.scope, idOf(item), done));
      }
    } finally {
      await Promise.allSettled(marks);
    }
    await Promise.all(marks);
  }

  async #markDone(scope: SeenScope, id: string, done: Set<string>): Promise<void> {
    await this.#seen.markDone(scope, id);
    done.add(id);
  }

  #failed(queue: string, job: Job | undefined, error: Error): void {
    const failure: JobFailure = {
      queue,
      jobId: job?.id ?? '',
      attemptsMade: job?.attemptsMade ?? 0,
      error,
      final: !job || Boolean(job.finishedOn),
    };
    const fields = { queue, jobId: failure.jobId, attemptsMade: failure.attemptsMade, err: error.message };
    if (failure.final) this.#logger.error(fields, 'job failed for good: it stays in the failed set');
    else this.#logger.warn(fields, 'job failed; retrying with backoff');
    this.emit('failed', failure);
  }

  #trouble(err: Error): void {
    this.#logger.debug({ err: err.message }, 'redis or queue error');
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }
}
