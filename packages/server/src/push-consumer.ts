import type { Logger, PushResult } from '@io-session/store';
import { QueueName, type PushJob, type PushJobMessage } from '@io-session/worker';
import { UnrecoverableError, Worker, type ConnectionOptions } from 'bullmq';

export interface PushConsumerOptions {
  connection: ConnectionOptions;
  prefix: string;
  /** Jobs processed at once by this node. Default 32. */
  concurrency?: number;
  logger: Logger;
  push: (messages: PushJobMessage[]) => Promise<PushResult[]>;
  broadcast: (data: unknown) => void;
}

/**
 * Consumes the `push` queue on every node. A job completes once its messages are stored in Redis
 * (not when they are delivered): from then on the at-least-once delivery of the store takes over. A job
 * that stalls or fails is retried by BullMQ; message ids make the retry store nothing twice.
 */
export function startPushConsumer(options: PushConsumerOptions): Worker<PushJob> {
  const worker = new Worker<PushJob>(
    QueueName.push,
    async (job) => {
      const data = job.data;
      if ('broadcast' in data && data.broadcast === true) {
        options.broadcast(data.data);
        return { broadcast: true };
      }
      const messages = 'messages' in data ? data.messages : [data as PushJobMessage];
      if (!Array.isArray(messages) || !messages.every(validMessage)) {
        // A malformed job stays malformed: fail it for good instead of retrying it.
        throw new UnrecoverableError(
          'push job needs { token, data, id?, ttlMs? } (token: 1-256 characters) or { messages: [...] }',
        );
      }
      // Ids make a retried job idempotent: derive them from the job id when the app gave none.
      const results = await options.push(
        messages.map((m, i) => ({ ...m, id: m.id ?? `${job.id ?? 'job'}.${i}` })),
      );
      return { stored: results.filter((r) => r.stored).length, total: messages.length };
    },
    { connection: options.connection, prefix: options.prefix, concurrency: options.concurrency ?? 32 },
  );
  worker.on('failed', (job, err) =>
    options.logger.warn({ jobId: job?.id, err: err.message }, 'push job failed'),
  );
  worker.on('error', (err) => options.logger.warn({ err: err.message }, 'push consumer error'));
  return worker;
}

function validMessage(m: unknown): m is PushJobMessage {
  if (typeof m !== 'object' || m === null) return false;
  const { token, id, ttlMs } = m as Record<string, unknown>;
  return (
    typeof token === 'string' &&
    token.length > 0 &&
    token.length <= 256 &&
    (id === undefined || (typeof id === 'string' && id.length > 0 && id.length <= 128)) &&
    (ttlMs === undefined || (typeof ttlMs === 'number' && Number.isInteger(ttlMs) && ttlMs > 0))
  );
}
