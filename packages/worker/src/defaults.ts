import type { JobsOptions } from 'bullmq';

/** Every default of @io-session/worker, documented once. */
export const workerDefaults = {
  /** `receipts` jobs a worker processes at once. */
  concurrency: 8,
  /** `session-events` jobs processed at once (one event each; this bounds an `onSessionEvents` batch). */
  eventsConcurrency: 32,
  /**
   * How long the `done` marker of a job whose handler resolved outlives a run that could not record the job
   * completed, in ms. A completed job's markers are deleted at once, so this bounds only what a crash leaves:
   * at most one marker per job in flight and handler. It must outlast the wait until a dead worker's jobs run
   * again (one to two `lockDurationMs`, 30–60 s, or until a worker is back): 10 minutes, the nodes' relay
   * dedupe window too.
   */
  dedupeTtlMs: 10 * 60 * 1000,
  /** Lock of a running job, renewed while it runs; a dead worker's jobs run again after one to two of these. */
  lockDurationMs: 30_000,
  /** How often a job may stall (its worker died while running it) before BullMQ fails it for good. */
  maxStalledCount: 10,
  /** Most messages one `{ messages: [...] }` job of `PushQueue#pushMany` carries. */
  pushBatchSize: 1000,
  /** Job options of every job a `PushQueue` adds. */
  pushJobOptions: {
    attempts: 5,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: { age: 3600, count: 100_000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  } satisfies JobsOptions as JobsOptions,
  /**
   * How soon a `session.started` whose previous lifetime's `session.ended` job has not left the queue yet looks
   * again, in ms (lifetime order per token).
   */
  lifetimeOrderRetryMs: 250,
  /** How long one webhook POST may take before it counts as failed, in ms. */
  webhookTimeoutMs: 10_000,
} as const;
