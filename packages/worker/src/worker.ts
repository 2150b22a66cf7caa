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
import { JobDelivery, type Handler, type JobOutcome, type Stage } from './job-delivery.js';
import type { HandlerScope } from './job-marker-keys.js';
import { JobMarkers } from './job-markers.js';
import { eventIdOf, eventOf, receiptsOf } from './jobs.js';
import {
  consumerQueueShards,
  QueueName,
  queuePrefixes,
  type ReceiptsJob,
  type SessionEventJob,
} from './queues.js';

export type { JobOutcome } from './job-delivery.js';

/** What `connectionListener` gets: the seed's `{ id, token, status }`, plus the full session event. */
export type ConnectionListenerEvent = SessionEvent;

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
  /** Called with the receipts of one job (one acknowledgement batch of a node, up to 500), once per job. */
  onReceipts?: Handler<Receipt[]>;
  /** Called once per session start (`status: 1`) and end (`status: 0`), as the seed's `connectionListener`. */
  connectionListener?: Handler<ConnectionListenerEvent>;
  /** Called with session events, each job's once; the events of jobs that run at once are grouped into one call. */
  onSessionEvents?: Handler<SessionEvent[]>;
  /**
   * Shards of the queues (the nodes' QUEUE_SHARDS): the worker consumes every shard. Default: the count in the
   * cluster's layout record; before any node wrote one, the nodes' default for the kind of Redis, which the worker
   * then records (as a node does). Given and different from the record: `ready()` rejects naming QUEUE_SHARDS.
   */
  queueShards?: number;
  /** `receipts` jobs processed at once, per queue shard. Default `workerDefaults.concurrency`. */
  concurrency?: number;
  /** `session-events` jobs processed at once (one event each; this bounds an `onSessionEvents` batch). Default `workerDefaults.eventsConcurrency`. */
  eventsConcurrency?: number;
  /**
   * How long a job whose handler resolved is remembered when its run could not record it completed (the worker
   * died in between), so that the job's next run hands nothing over again. At least twice `lockDurationMs`
   * (a dead worker's jobs run again after one to two lock durations). A completed job's markers are deleted at
   * once: this bounds only what a crash leaves behind. Default `workerDefaults.dedupeTtlMs`.
   */
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
  /** A job's items reached the handlers (or had reached them in an earlier run of the job). */
  completed: [JobOutcome];
  /** A handler threw or a job was malformed; see `final`. */
  failed: [JobFailure];
  /** Redis or BullMQ trouble outside a job (reconnects are automatic). Emitted only when someone listens. */
  error: [Error];
}

type ResolvedOptions = Required<Omit<IoSessionWorkerOptions, keyof Handlers | 'queueShards'>> &
  Handlers & { queueShards?: number };
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

const scopesOf = <T>(stages: Stage<T>[]): HandlerScope[] => stages.map((s) => s.scope);

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
  if (resolved.dedupeTtlMs < 2 * resolved.lockDurationMs)
    throw new RangeError(
      `createWorker option dedupeTtlMs must be at least twice lockDurationMs (${2 * resolved.lockDurationMs}), ` +
        `got ${resolved.dedupeTtlMs}`,
    );
  return resolved;
}

/**
 * Starts a worker that consumes the `receipts` and `session-events` queues of an io-session cluster and hands
 * each job's items to the app's handlers, once per job and handler (CONTRACT.md §6). A queue is consumed only
 * when a handler for it is given.
 *
 * What is guaranteed: each job's items reach each handler once. A job that BullMQ runs again — its worker died
 * after the handler resolved but before the job was recorded completed, it stalled, or a handler threw and it
 * is retried — hands over only what had not reached that handler: a per-item handler that threw on item k gets
 * items k… on the retry; two runs of one job never hand its items over at the same time. Nodes put each receipt
 * in one `receipts` job and each session event in one `session-events` job; the same receipt comes in a second
 * job only when a node relays it again more than 10 minutes (the queues' dedupe window) after its first relay.
 * What stays at-least-once: a process that dies inside a handler call hands that call's items over again (a
 * per-item handler: the job's items it had been given), and so does a job run again more than `dedupeTtlMs`
 * after its handler resolved. Handlers and webhook receivers dedupe by `id` (session events by `type` + `sid`).
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
 * The worker {@link createWorker} starts. BullMQ is at-least-once: a job runs again when its worker dies or it
 * stalls. One dedupe marker per job and handler (see {@link JobMarkers}: claimed by the run before it calls
 * the handler, `done` once the handler resolved, deleted when the job completed) and the counts of items
 * handed over, kept in the job's progress when a handler throws, make each job's items reach each handler
 * once. Markers exist only for jobs in flight: Redis holds no dedupe state per receipt. A handler that throws
 * fails the job; BullMQ retries it with the `capped` backoff.
 */
export class IoSessionWorker extends EventEmitter<IoSessionWorkerEvents> {
  /** The key prefix the worker works for. */
  readonly prefix: string;
  readonly #redis: RedisClient;
  readonly #markers: JobMarkers;
  readonly #delivery: JobDelivery;
  readonly #logger: Logger;
  readonly #workers: Worker[] = [];
  readonly #options: ResolvedOptions;
  readonly #started: Promise<void>;
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
    this.#markers = new JobMarkers(this.#redis, o.prefix, {
      ttlMs: o.dedupeTtlMs,
      leaseMs: o.lockDurationMs,
      onError: (err) => this.#trouble(err),
    });
    this.#delivery = new JobDelivery(this.#markers, this.#logger);
    this.#started = this.#start(receiptStages, eventStages);
    this.#started.catch((err: Error) => this.#trouble(err));
  }

  /** Learns the queue shard count, then consumes every shard of each queue a handler was given for. */
  async #start(receiptStages: Stage<Receipt>[], eventStages: Stage<SessionEvent>[]): Promise<void> {
    const o = this.#options;
    const shards = await consumerQueueShards(this.#redis, o.prefix, o.queueShards);
    if (this.#closing) return;
    for (const prefix of queuePrefixes(o.prefix, shards)) {
      if (receiptStages.length > 0)
        this.#consume<ReceiptsJob>({
          name: QueueName.receipts,
          prefix,
          concurrency: o.concurrency,
          scopes: scopesOf(receiptStages),
          process: (job, token) =>
            this.#delivery.run({
              job,
              token,
              items: receiptsOf(job),
              idOf: (r) => r.id,
              stages: receiptStages,
            }),
        });
      if (eventStages.length > 0)
        this.#consume<SessionEventJob>({
          name: QueueName.sessionEvents,
          prefix,
          concurrency: o.eventsConcurrency,
          scopes: scopesOf(eventStages),
          process: (job, token) =>
            this.#delivery.run({ job, token, items: [eventOf(job)], idOf: eventIdOf, stages: eventStages }),
        });
    }
  }

  /** The queues this worker consumes, as `<BullMQ prefix>:<name>` (one per queue shard). */
  get queues(): string[] {
    return this.#workers.map((w) => `${w.opts.prefix}:${w.name}`);
  }

  /** Resolves once every queue shard's consumer is connected. @throws LayoutError naming QUEUE_SHARDS */
  async ready(): Promise<void> {
    await this.#started;
    await Promise.all(this.#workers.map((w) => w.waitUntilReady()));
  }

  /** Graceful: takes no new job, waits for the running ones to finish, then releases Redis. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#started.catch(() => undefined);
      await Promise.all(this.#workers.map((w) => w.close()));
      this.#markers.stop();
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

  #consume<D>(input: {
    name: string;
    prefix: string;
    concurrency: number;
    scopes: HandlerScope[];
    process: (job: Job<D>, token: string | undefined) => Promise<JobOutcome>;
  }): void {
    const { name, prefix, concurrency, scopes, process } = input;
    const { lockDurationMs, maxStalledCount } = this.#options;
    const worker = new Worker<D, JobOutcome>(name, process, {
      connection: this.#redis,
      prefix,
      concurrency,
      lockDuration: lockDurationMs,
      stalledInterval: lockDurationMs,
      maxStalledCount,
      settings: { backoffStrategy },
    });
    worker.on('completed', (job, outcome) => {
      this.#forget(scopes, job);
      this.emit('completed', outcome);
    });
    worker.on('failed', (job, error) => this.#failed({ queue: name, scopes, job, error }));
    worker.on('error', (err) => this.#trouble(err));
    worker.on('ready', () => this.#logger.info({ queue: name, prefix }, 'io-session worker ready'));
    this.#workers.push(worker);
  }

  /** A job completed (or failed for good): its markers go, so that they are bounded by the jobs in flight. */
  #forget(scopes: HandlerScope[], job: Job | undefined): void {
    if (job?.id === undefined) return;
    this.#markers
      .forget(scopes, this.#markers.keys.markerIdOf(job))
      .catch((err: Error) => this.#trouble(err));
  }

  #failed(input: { queue: string; scopes: HandlerScope[]; job: Job | undefined; error: Error }): void {
    const { queue, job, error } = input;
    const failure: JobFailure = {
      queue,
      jobId: job?.id ?? '',
      attemptsMade: job?.attemptsMade ?? 0,
      error,
      final: !job || Boolean(job.finishedOn),
    };
    // BullMQ recorded the failure (and the run wrote the job's progress before): the retry may claim at once.
    if (failure.final) this.#forget(input.scopes, job);
    else if (job?.id && job.token)
      this.#markers
        .release(input.scopes, this.#markers.keys.markerIdOf(job), job.token)
        .catch((err: Error) => this.#trouble(err));
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
