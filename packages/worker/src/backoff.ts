import type { BackoffStrategy } from 'bullmq';

/** The custom BullMQ backoff type that nodes put on `receipts` and `session-events` jobs. */
export const CAPPED_BACKOFF = 'capped';

/** Retry delay of the `capped` backoff: 1 s, 2 s, 4 s … doubling up to 60 s, then 60 s for ever. */
export function cappedBackoffDelay(attemptsMade: number): number {
  return Math.min(1000 * 2 ** Math.max(attemptsMade - 1, 0), 60_000);
}

/**
 * `settings.backoffStrategy` of every io-session worker. BullMQ consults it for the types it does not know
 * itself; `capped` is the only one io-session uses, and any other unknown type gets the same delays rather
 * than failing the job for good.
 */
export const backoffStrategy: BackoffStrategy = (attemptsMade) => cappedBackoffDelay(attemptsMade);
