import { EventEmitter } from 'node:events';
import { openRedis, type Logger, type Receipt, type RedisClient, type SessionEvent } from '@io-session/store';
import { Queue, Worker, type Job } from 'bullmq';
import { backoffStrategy } from './backoff.js';
import { Batcher } from './batcher.js';
import { JobDelivery, type JobOutcome, type Stage } from './job-delivery.js';
import type { HandlerScope } from './job-marker-keys.js';
import { JobMarkers } from './job-markers.js';
import { eventIdOf, eventOf, receiptsOf } from './jobs.js';
import { LifetimeOrder } from './lifetime-order.js';
import {
  resolveOptions,
  type IoSessionWorkerEvents,
  type IoSessionWorkerOptions,
  type JobFailure,
  type ResolvedOptions,
} from './worker-options.js';
import {
  consumerQueueShards,
  QueueName,
  queuePrefixes,
  type ReceiptsJob,
  type SessionEventJob,
} from './queues.js';
import { telemetryOption } from './tracing/bullmq-telemetry.js';
import { withReceiptSpans } from './tracing/receipt-spans.js';

export type { JobOutcome } from './job-delivery.js';
export type {
  ConnectionListenerEvent,
  IoSessionWorkerEvents,
  IoSessionWorkerOptions,
  JobFailure,
} from './worker-options.js';

const scopesOf = <T>(stages: Stage<T>[]): HandlerScope[] => stages.map((s) => s.scope);

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
  /** The session-events queue of each shard, read to keep each token's events in lifetime order. */
  readonly #eventsQueues: Queue[] = [];
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
          process: (job, token) => {
            const items = receiptsOf(job);
            const run = () =>
              this.#delivery.run({ job, token, items, idOf: (r) => r.id, stages: receiptStages });
            return o.tracing ? withReceiptSpans(items, run) : run();
          },
        });
      if (eventStages.length > 0) this.#consumeEvents(prefix, eventStages);
    }
  }

  /** One shard's session events; a token's events are in one shard (its bucket's), ordered by lifetime there. */
  #consumeEvents(prefix: string, stages: Stage<SessionEvent>[]): void {
    const queue = new Queue(QueueName.sessionEvents, { connection: this.#redis, prefix });
    queue.on('error', (err: Error) => this.#trouble(err));
    this.#eventsQueues.push(queue);
    const order = new LifetimeOrder(queue, this.#logger);
    this.#consume<SessionEventJob>({
      name: QueueName.sessionEvents,
      prefix,
      concurrency: this.#options.eventsConcurrency,
      scopes: scopesOf(stages),
      process: async (job, token) => {
        const event = eventOf(job);
        await order.gate(job, token, event);
        return this.#delivery.run({ job, token, items: [event], idOf: eventIdOf, stages });
      },
    });
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
      await Promise.all(this.#eventsQueues.map((q) => q.close()));
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
      ...telemetryOption(this.#options.tracing),
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
