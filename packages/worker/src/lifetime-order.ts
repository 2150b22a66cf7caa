import type { Logger, SessionEvent } from '@io-session/store';
import { DelayedError, type Job, type Queue } from 'bullmq';
import { workerDefaults } from './defaults.js';
import { safeJobId } from './queues.js';

/** States of a job that will still run: the events it carries have not reached the handlers yet. */
const UNFINISHED = new Set(['waiting', 'delayed', 'active', 'prioritized', 'waiting-children']);

/**
 * Keeps the session events of one token in lifetime order: a `session.started` that names the lifetime before it
 * (`prev`) is handed over only once that lifetime's `session.ended` job has left the queue (completed, or failed
 * for good). Session-events jobs run concurrently and are retried with backoff, so without this a start could
 * overtake the end before it. The end's job is found by its id (`session.ended-<sid>`, as the nodes add it);
 * while it still waits or is retried, the start moves to delayed (not a failed attempt) and looks again.
 */
export class LifetimeOrder {
  constructor(
    private readonly queue: Queue,
    private readonly logger: Logger,
  ) {}

  /** Resolves when `event` may be handed over; else moves its job to delayed (and throws BullMQ's DelayedError). */
  async gate(job: Job, token: string | undefined, event: SessionEvent): Promise<void> {
    if (event.type !== 'session.started' || !event.prev || token === undefined) return;
    const before = safeJobId(`session.ended-${event.prev}`);
    const state = await this.queue.getJobState(before);
    if (!UNFINISHED.has(state)) return;
    const delay = workerDefaults.lifetimeOrderRetryMs;
    this.logger.debug(
      { jobId: job.id, waitsFor: before, state, delayMs: delay },
      'session.started waits for the end of the lifetime before it',
    );
    await job.moveToDelayed(Date.now() + delay, token);
    throw new DelayedError(`${job.id ?? ''} waits for ${before}`);
  }
}
