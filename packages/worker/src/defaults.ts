import type { JobsOptions } from 'bullmq';

/** Every default of @io-session/worker, documented once. */
export const workerDefaults = {
  /** `receipts` jobs a worker processes at once. */
  concurrency: 8,
  /** `session-events` jobs processed at once (one event each; this bounds an `onSessionEvents` batch). */
  eventsConcurrency: 32,
  /**
   * How long an item handed to a handler is remembered, so that no job hands it over again, in ms
   * (duplicates come from relays after a crash and stalled jobs: seconds to minutes later).
   */
  dedupeTtlMs: 3600 * 1000,
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
  /** How long one webhook POST may take before it counts as failed, in ms. */
  webhookTimeoutMs: 10_000,
} as const;
