import { randomUUID } from 'node:crypto';
import type { Logger } from '@io-session/store';
import { DelayedError, type Job } from 'bullmq';
import type { HandlerScope } from './job-marker-keys.js';
import type { JobMarkers } from './job-markers.js';

/** A handler may be synchronous or return a Promise; a throw or a rejection fails the job, which is retried. */
export type Handler<T> = (value: T) => unknown;

/** A per-item handler, with the job's dedupe marker in front of it. */
export interface EachStage<T> {
  scope: HandlerScope;
  each: Handler<T>;
  batch?: undefined;
}

/** A batch handler, with the job's dedupe marker in front of it. */
export interface BatchStage<T> {
  scope: HandlerScope;
  batch: (items: T[]) => unknown;
  each?: undefined;
}

export type Stage<T> = EachStage<T> | BatchStage<T>;

/** How one job went. */
export interface JobOutcome {
  queue: string;
  jobId: string;
  /** Distinct items in the job (by id: an item twice in one job is handed over once). */
  items: number;
  /** Items handed to a handler by this run; the others had reached it in an earlier run of the job. */
  handed: number;
}

/** One run of one job: its items, in order, and the handlers they go to, in order. */
export interface JobRun<T> {
  job: Job;
  /** The run's BullMQ lock token: the owner of the claims it takes. */
  token: string | undefined;
  items: T[];
  idOf: (item: T) => string;
  stages: Stage<T>[];
}

/** Items handed to each handler so far, kept in the job's progress (`job.progress.handed`). */
type Handed = Partial<Record<HandlerScope, number>>;

/** The handed counts a job's progress records (written by an earlier run that failed), or none. */
export function handedOf(progress: unknown): Handed {
  const handed = (progress as { handed?: unknown } | null)?.handed;
  if (typeof handed !== 'object' || handed === null) return {};
  return Object.fromEntries(
    Object.entries(handed).filter(([, n]) => Number.isSafeInteger(n) && (n as number) >= 0),
  ) as Handed;
}

/** The items of a job, each id once, in their first order. */
function distinct<T>(items: T[], idOf: (item: T) => string): T[] {
  const unique = new Map<string, T>();
  for (const item of items) if (!unique.has(idOf(item))) unique.set(idOf(item), item);
  return [...unique.values()];
}

/**
 * Hands one run's items to the handlers, each handler after the other, so that each job's items reach each
 * handler once however often BullMQ runs the job:
 * - a handler that has all of the job's items already (recorded in the job's progress, or its marker `done`)
 *   is skipped;
 * - a handler that threw on item k gets items k… on the retry: the counts are written to the job's progress
 *   before the failure reaches BullMQ;
 * - a claim held by another run of the job (a stalled job run again while its first run still goes) moves
 *   this run to delayed (BullMQ `DelayedError`: not a failed attempt), to look again when that claim lapses.
 */
export class JobDelivery {
  constructor(
    private readonly markers: JobMarkers,
    private readonly logger: Logger,
  ) {}

  async run<T>(run: JobRun<T>): Promise<JobOutcome> {
    const { job, stages } = run;
    const jobId = job.id ?? '';
    const markerId = this.markers.keys.markerIdOf(job);
    const token = run.token ?? randomUUID();
    const items = distinct(run.items, run.idOf);
    const recorded = handedOf(job.progress);
    const handed: Handed = { ...recorded };
    let handedNow = 0;
    for (const stage of stages) {
      const from = Math.min(recorded[stage.scope] ?? 0, items.length);
      if (from === items.length) continue;
      const claim = await this.markers.claim(stage.scope, markerId, token);
      this.logger.debug({ queue: job.queueName, jobId, handler: stage.scope, from, ...claim }, 'job claimed');
      if (claim.state === 'done') {
        handed[stage.scope] = items.length;
        continue;
      }
      if (claim.state === 'busy') return this.#later(job, token, claim.retryInMs);
      try {
        await this.#hand(stage, items.slice(from), (n) => (handed[stage.scope] = from + n), markerId);
        await this.markers.done(stage.scope, markerId);
      } catch (error) {
        await this.#record(job, recorded, handed);
        throw error;
      }
      handedNow = Math.max(handedNow, items.length - from);
    }
    return { queue: job.queueName, jobId, items: items.length, handed: handedNow };
  }

  /** Hands `items` to one handler; `counted(n)` after the first n reached it. Stops renewing the claim after. */
  async #hand<T>(stage: Stage<T>, items: T[], counted: (n: number) => void, markerId: string): Promise<void> {
    try {
      if (stage.batch) {
        await stage.batch(items);
        counted(items.length);
        return;
      }
      for (const [i, item] of items.entries()) {
        await stage.each(item);
        counted(i + 1);
      }
    } finally {
      this.markers.letGo(stage.scope, markerId);
    }
  }

  /** Writes the handed counts into the job's progress, when this run changed them. */
  async #record(job: Job, recorded: Handed, handed: Handed): Promise<void> {
    const changed = Object.entries(handed).some(([scope, n]) => recorded[scope as HandlerScope] !== n);
    if (!changed) return;
    await job
      .updateProgress({ handed })
      .catch((err: Error) =>
        this.logger.warn(
          { queue: job.queueName, jobId: job.id, err: err.message },
          'could not record the job’s progress: its retry hands the items of this run over again',
        ),
      );
  }

  /** Another run holds the claim: look again once it lapses (or sooner, should that run release it). */
  async #later(job: Job, token: string, retryInMs: number): Promise<never> {
    const delay = Math.min(Math.max(retryInMs, 50), 1000);
    this.logger.info(
      { queue: job.queueName, jobId: job.id, delayMs: delay },
      'job is being run by another run: looking again later',
    );
    await job.moveToDelayed(Date.now() + delay, token);
    throw new DelayedError(`job ${job.id ?? ''} is being run by another run`);
  }
}
