import type { ProcessGroup } from '@io-session/devtools';
import { QueueName, type ReceiptsJob, type SessionEventJob } from '@io-session/worker';
import { Worker } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { WebhookReceiver } from '../harness/receiver.js';
import type { ReceiptConsumer } from '../report/results.js';
import { startWorker, type ProjectRedis } from './project-processes.js';
import { tokenGroup } from './system.js';

export type { ReceiptConsumer };

/** Counts what io-session's queues deliver: receipts (a message is done) and session events by token group. */
export interface ReceiptCounter {
  readonly consumer: ReceiptConsumer;
  /** Processes of the consumer outside the bench (their CPU is accounted as the worker's). */
  readonly pids: number[];
  receipts(): number;
  started(group: string): number;
  ended(group: string): number;
  stop(): Promise<void>;
}

/**
 * The real `io-session worker` command, its webhooks pointing at a receiver in the bench: a receipt counts when
 * it reached the receiver, so the worker's dedupe state in Redis is part of every memory figure.
 */
export async function startWorkerCounter(group: ProcessGroup, redis: ProjectRedis): Promise<ReceiptCounter> {
  const receiver = new WebhookReceiver(tokenGroup);
  await receiver.start();
  const worker = await startWorker(group, redis, {
    receipts: receiver.receiptsUrl,
    events: receiver.eventsUrl,
  });
  return {
    consumer: 'worker',
    pids: [worker.pid],
    receipts: () => receiver.receipts,
    started: (g) => receiver.started.get(g) ?? 0,
    ended: (g) => receiver.ended.get(g) ?? 0,
    stop: async () => {
      await group.stop(worker, 'SIGTERM', 10_000);
      await receiver.stop();
    },
  };
}

/** Plain BullMQ workers in the bench process (`--receipts bullmq`): no dedupe state, the cheaper count. */
export async function startBullmqCounter(
  connection: (name: string) => Redis | Cluster,
  prefixes: string[],
): Promise<ReceiptCounter> {
  let receipts = 0;
  const started = new Map<string, number>();
  const ended = new Map<string, number>();
  const [receiptsConnection, eventsConnection] = [connection('bench-receipts'), connection('bench-events')];
  const workers = prefixes.flatMap((prefix) => [
    new Worker<ReceiptsJob>(
      QueueName.receipts,
      async (job) => {
        receipts += job.data.receipts.length;
      },
      { connection: receiptsConnection, prefix, concurrency: 8 },
    ),
    new Worker<SessionEventJob>(
      QueueName.sessionEvents,
      async (job) => {
        const counts = job.data.type === 'session.started' ? started : ended;
        const group = tokenGroup(job.data.token);
        counts.set(group, (counts.get(group) ?? 0) + 1);
      },
      { connection: eventsConnection, prefix, concurrency: 8 },
    ),
  ]);
  for (const w of workers) w.on('error', () => undefined);
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  return {
    consumer: 'bullmq',
    pids: [],
    receipts: () => receipts,
    started: (g) => started.get(g) ?? 0,
    ended: (g) => ended.get(g) ?? 0,
    stop: async () => {
      await Promise.all(workers.map((w) => w.close(true).catch(() => undefined)));
    },
  };
}
