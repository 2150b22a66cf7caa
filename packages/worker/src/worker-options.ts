import {
  silentLogger,
  type Logger,
  type Receipt,
  type RedisTarget,
  type SessionEvent,
} from '@io-session/store';
import { defaultKeyPrefix, defaultRedisTarget } from './connection.js';
import { workerDefaults } from './defaults.js';
import type { Handler, JobOutcome } from './job-delivery.js';
import { tracingRequested } from './tracing/trace-context.js';

/**
 * The options of {@link createWorker}, their defaults and checks (one place where options meet their defaults).
 */
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
  /**
   * OpenTelemetry spans through the app's registered tracer provider: BullMQ's job spans (bullmq-otel) and one
   * `io-session.receipt` span per traced receipt, in its push's trace (README: Tracing). Default: on when
   * `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set.
   */
  tracing?: boolean;
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

export type ResolvedOptions = Required<Omit<IoSessionWorkerOptions, keyof Handlers | 'queueShards'>> &
  Handlers & { queueShards?: number };
export type Handlers = Pick<
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
export function resolveOptions(options: IoSessionWorkerOptions): ResolvedOptions {
  const resolved = {
    ...Object.fromEntries(countedOptions.map((name) => [name, workerDefaults[name]])),
    connection: defaultRedisTarget(),
    prefix: defaultKeyPrefix(),
    tracing: tracingRequested(),
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
