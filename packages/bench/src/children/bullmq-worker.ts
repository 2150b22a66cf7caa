/**
 * Baseline (0): a raw BullMQ worker processing empty jobs, the floor under io-session's queue path (one job
 * per message). Reports how many jobs it completed.
 *
 * argv[2]: JSON `{ redisUrl, cluster, queue, prefix, concurrency }` (`cluster`: `host:port` seeds of a Redis Cluster)
 */
import { Worker } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import { exitWithParent } from '@io-session/devtools/child';
import { parseSeeds } from '@io-session/store';
import type { TargetEvent } from './messages.js';
import { reportDelivered } from './report-delivered.js';

exitWithParent();
const { redisUrl, cluster, queue, prefix, concurrency } = JSON.parse(process.argv[2] ?? '{}') as {
  redisUrl: string;
  cluster?: string[] | null;
  queue: string;
  prefix: string;
  concurrency: number;
};
let completed = 0;
const options = { maxRetriesPerRequest: null, connectionName: 'bench-floor-worker' };
const connection = cluster
  ? new Cluster(parseSeeds(cluster), { redisOptions: options })
  : new Redis(redisUrl, options);
connection.on('error', () => undefined);
const worker = new Worker(queue, async () => undefined, {
  connection,
  prefix,
  concurrency,
});
worker.on('completed', () => {
  completed += 1;
});
worker.on('error', () => undefined);
reportDelivered(() => completed);
void worker.waitUntilReady().then(() => process.send?.({ type: 'ready', port: 0 } satisfies TargetEvent));
