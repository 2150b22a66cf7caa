import type { Logger, PushResult } from '@io-session/store';
import { QueueName, type PushJob, type PushJobMessage } from '@io-session/worker';
import { UnrecoverableError, Worker, type ConnectionOptions, type Telemetry } from 'bullmq';
import { handlerDefaults } from '../defaults.js';
import { MAX_BATCH } from '../limits.js';
import type { PayloadLimits } from '../protocol/payload.js';
import { checkData, checkPush, PushRejectedError } from './push-input.js';
import {
  checkGroupPush,
  checkTokensPush,
  GroupRefusedError,
  type GroupPush,
  type GroupPushResult,
  type RecipientResult,
  type TokensPush,
} from './recipients.js';

export interface PushConsumerOptions {
  connection: ConnectionOptions;
  /** The BullMQ prefix of every `push` shard (queues.ts `queuePrefixes`): one BullMQ worker each. */
  prefixes: string[];
  /** Jobs processed at once by this node. Default `handlerDefaults.pushConcurrency`. */
  concurrency?: number;
  /** Completed jobs kept when a job says nothing itself. Default `handlerDefaults.keepCompletedJobs` (none). */
  keepCompleted?: number;
  /** Largest `data` of a job's message or broadcast, in bytes of JSON. Default `handlerDefaults.maxPayloadBytes`. */
  maxPayloadBytes?: number;
  logger: Logger;
  push: (messages: PushJobMessage[]) => Promise<PushResult[]>;
  /** One message to several tokens, the recipients' ids derived from `base`. */
  pushToTokens: (push: TokensPush, base: string) => Promise<RecipientResult[]>;
  /** One message to every member of a group, the members' ids derived from `base`. */
  pushToGroup: (push: GroupPush, base: string) => Promise<GroupPushResult>;
  broadcast: (data: unknown) => void;
  /** bullmq-otel when tracing is on: each job runs in its `process push` span, in the producer's trace. */
  telemetry?: Telemetry | undefined;
  /** A job failed for a reason other than its own data (Redis, a bug): for a metric. It is retried. */
  onUnexpectedError?: (err: Error) => void;
}

/** What a valid job asks for. */
type JobWork =
  | { kind: 'broadcast'; data: unknown }
  | { kind: 'push'; messages: PushJobMessage[] }
  | { kind: 'tokens'; push: TokensPush }
  | { kind: 'group'; push: GroupPush };

const SHAPE =
  '{ token, data, id?, ttlMs? }, { tokens: [...], data, id?, ttlMs? }, { group, data, id?, ttlMs? }, ' +
  '{ messages: [...] } or { broadcast: true, data }';

/** The `push` consumers of a node, one per queue shard. */
export interface PushConsumer {
  readonly workers: Worker<PushJob>[];
  close(): Promise<void>;
}

/** Consumes every shard of the `push` queue (see {@link startShardConsumer}). */
export function startPushConsumer(options: PushConsumerOptions): PushConsumer {
  const workers = options.prefixes.map((prefix) => startShardConsumer(options, prefix));
  return {
    workers,
    close: async () => {
      await Promise.all(workers.map((worker) => worker.close()));
    },
  };
}

/**
 * Consumes one shard of the `push` queue on every node. A job completes once its messages are stored in Redis
 * (not when they are delivered): from then on the at-least-once delivery of the store takes over. A job
 * that stalls or fails is retried by BullMQ; message ids make the retry store nothing twice. A malformed job
 * (not an object, a bad field, data too large or too deep, a batch over `MAX_BATCH`) stays malformed: it fails
 * once, for good (`UnrecoverableError`), with a reason naming the field, and stores nothing.
 */
function startShardConsumer(options: PushConsumerOptions, prefix: string): Worker<PushJob> {
  const limits: PayloadLimits = { maxBytes: options.maxPayloadBytes ?? handlerDefaults.maxPayloadBytes };
  const keep = options.keepCompleted ?? handlerDefaults.keepCompletedJobs;
  const worker = new Worker<PushJob>(
    QueueName.push,
    async (job) => {
      const work = jobWork(job.data as unknown, limits);
      if (work.kind === 'broadcast') {
        options.broadcast(work.data);
        return { broadcast: true };
      }
      // A retried job derives the same recipients' ids: from the job's `id`, else from the job id.
      const base = `${job.id ?? 'job'}`;
      if (work.kind === 'tokens') {
        const results = await options.pushToTokens(work.push, work.push.id ?? base);
        return { stored: results.filter((r) => r.accepted).length, total: results.length };
      }
      if (work.kind === 'group') {
        const pushed = await refusedForGood(options.pushToGroup(work.push, work.push.id ?? base));
        return { group: work.push.group, id: pushed.id, recipients: pushed.recipients };
      }
      const { messages } = work;
      if (messages.length === 0) return { stored: 0, total: 0 };
      // Ids make a retried job idempotent: derive them from the job id when the app gave none.
      const results = await options.push(
        messages.map((m, i) => ({ ...m, id: m.id ?? `${job.id ?? 'job'}.${i}` })),
      );
      return { stored: results.filter((r) => r.stored).length, total: messages.length };
    },
    {
      connection: options.connection,
      prefix,
      concurrency: options.concurrency ?? handlerDefaults.pushConcurrency,
      // Whoever produced the job (a plain BullMQ producer may set no removeOnComplete): completed and failed push
      // jobs are capped here; a job's own options, when it has them, win.
      removeOnComplete: { count: keep },
      removeOnFail: handlerDefaults.pushJobsFailedKept,
      ...(options.telemetry ? { telemetry: options.telemetry } : {}),
    },
  );
  worker.on('failed', (job, err) => {
    const refused = err instanceof UnrecoverableError;
    const context = { jobId: job?.id, jobName: job?.name, attemptsMade: job?.attemptsMade, err: err.message };
    if (refused) options.logger.warn(context, 'push job refused');
    else {
      options.logger.warn({ ...context, stack: err.stack }, 'push job failed; BullMQ retries it');
      options.onUnexpectedError?.(err);
    }
  });
  worker.on('error', (err) => options.logger.warn({ err: err.message }, 'push consumer error'));
  return worker;
}

/** Reads and checks a job's data. @throws UnrecoverableError naming the bad field */
export function jobWork(data: unknown, limits: PayloadLimits): JobWork {
  try {
    if (typeof data !== 'object' || data === null || Array.isArray(data))
      throw new PushRejectedError('invalid', 'job data', `job data: must be ${SHAPE}, got ${kindOf(data)}`);
    if ('broadcast' in data && data.broadcast === true) {
      const broadcast = (data as { data?: unknown }).data;
      checkData(broadcast, limits);
      return { kind: 'broadcast', data: broadcast };
    }
    if ('tokens' in data) return { kind: 'tokens', push: checkTokensPush(data, limits) };
    if ('group' in data) return { kind: 'group', push: checkGroupPush(data, limits) };
    if (!('messages' in data)) return { kind: 'push', messages: [checkPush(data, limits)] };
    const { messages } = data;
    if (!Array.isArray(messages))
      throw new PushRejectedError(
        'invalid',
        'messages',
        `messages: must be an array, got ${kindOf(messages)}`,
      );
    if (messages.length > MAX_BATCH)
      throw new PushRejectedError(
        'invalid',
        'messages',
        `messages: at most ${MAX_BATCH} messages per job (MAX_BATCH), got ${messages.length}`,
      );
    return { kind: 'push', messages: messages.map((m, i) => checkPush(m, limits, `messages[${i}]`)) };
  } catch (err) {
    if (err instanceof PushRejectedError) throw new UnrecoverableError(err.message);
    throw err;
  }
}

/** A group push refused by a bound stays refused: the job fails once, for good. */
async function refusedForGood<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof GroupRefusedError) throw new UnrecoverableError(`${err.reason}: ${err.message}`);
    throw err;
  }
}

function kindOf(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}
