import type { Receipt, SessionEvent } from '@io-session/store';
import { UnrecoverableError, type Job } from 'bullmq';
import type { z } from 'zod';
import type { PushJob, ReceiptsJob, SessionEventJob } from './queues.js';
import { describeIssues, pushJobVariantOf, receiptsJobSchema, sessionEventSchema } from './schemas.js';

/**
 * Checks job data against its schema. A malformed job cannot succeed on a retry, so it fails for good
 * (UnrecoverableError), with a message naming the bad fields. On success the job's own data is returned, not
 * zod's copy: fields newer than this worker reach the handlers too.
 */
function checked<T>(schema: z.ZodType, data: unknown, what: string): T {
  const parsed = schema.safeParse(data);
  if (!parsed.success) throw new UnrecoverableError(`${what}: ${describeIssues(parsed.error)}`);
  return data as T;
}

/** The receipts of a `receipts` job. */
export function receiptsOf(job: Job<ReceiptsJob>): Receipt[] {
  return checked<ReceiptsJob>(receiptsJobSchema, job.data, 'malformed receipts job').receipts;
}

/** The event of a `session-events` job. */
export function eventOf(job: Job<SessionEventJob>): SessionEvent {
  return checked<SessionEventJob>(sessionEventSchema, job.data, 'malformed session-events job');
}

/** The data of a `push` job, checked against the variant its keys name (`tokens`, `group`, `messages`, …). */
export function pushJobOf(job: Job<PushJob>): PushJob {
  return checked<PushJob>(pushJobVariantOf(job.data), job.data, 'malformed push job');
}

/** A session event is one per type and session lifetime. */
export function eventIdOf(event: SessionEvent): string {
  return `${event.type}-${event.sid}`;
}
