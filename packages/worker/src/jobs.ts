import type { Receipt, SessionEvent } from '@io-session/store';
import { UnrecoverableError, type Job } from 'bullmq';
import type { ReceiptsJob, SessionEventJob } from './queues.js';

/** The receipts of a job; a job that has none cannot succeed on a retry, so it fails for good. */
export function receiptsOf(job: Job<ReceiptsJob>): Receipt[] {
  const receipts: unknown = (job.data as Partial<ReceiptsJob> | undefined)?.receipts;
  if (!Array.isArray(receipts) || !receipts.every(isReceipt))
    throw new UnrecoverableError('a receipts job needs { receipts: [{ id, token, data, deliveredAt, … }] }');
  return receipts;
}

function isReceipt(value: unknown): value is Receipt {
  const r = value as Partial<Receipt> | null;
  return typeof r === 'object' && r !== null && typeof r.id === 'string' && r.id !== '';
}

export function eventOf(job: Job<SessionEventJob>): SessionEvent {
  const e = job.data as Partial<SessionEvent> | undefined;
  if (
    !e ||
    (e.type !== 'session.started' && e.type !== 'session.ended') ||
    typeof e.token !== 'string' ||
    typeof e.sid !== 'string'
  )
    throw new UnrecoverableError(
      "a session-events job needs { type: 'session.started' | 'session.ended', token, sid, … }",
    );
  return e as SessionEvent;
}

/** A session event is one per type and session lifetime. */
export function eventIdOf(event: SessionEvent): string {
  return `${event.type}-${event.sid}`;
}
