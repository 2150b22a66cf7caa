import type { Logger, PushResult } from '@io-session/store';
import { QueueName, type PushJob, type PushJobMessage } from '@io-session/worker';
import { UnrecoverableError, Worker, type ConnectionOptions } from 'bullmq';
import { handlerDefaults } from '../defaults.js';
import { pushMessageSchema } from './push-input.js';

export interface PushConsumerOptions {
  connection: ConnectionOptions;
  prefix: string;
  /** Jobs processed at once by this node. Default `handlerDefaults.pushConcurrency`. */
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
          'push job needs { token, data, id?, ttlMs? } (token: 1-256 characters, id: 1-128, ttlMs: 1 ms-30 days) or { messages: [...] }',
        );
      }
      // Ids make a retried job idempotent: derive them from the job id when the app gave none.
      const results = await options.push(
        messages.map((m, i) => ({ ...m, id: m.id ?? `${job.id ?? 'job'}.${i}` })),
      );
      return { stored: results.filter((r) => r.stored).length, total: messages.length };
    },
    {
      connection: options.connection,
      prefix: options.prefix,
      concurrency: options.concurrency ?? handlerDefaults.pushConcurrency,
    },
  );
  worker.on('failed', (job, err) =>
    options.logger.warn({ jobId: job?.id, err: err.message }, 'push job failed'),
  );
  worker.on('error', (err) => options.logger.warn({ err: err.message }, 'push consumer error'));
  return worker;
}

function validMessage(m: unknown): m is PushJobMessage {
  return pushMessageSchema.safeParse(m).success;
}
