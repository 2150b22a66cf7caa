import { openRedis, type Receipt } from '@io-session/store';
import {
  createWorker,
  PushQueue,
  QueueName,
  queuePrefix,
  SEEN_SHARDS,
  type JobOutcome,
  type ReceiptsJob,
} from '@io-session/worker';
import { Queue } from 'bullmq';
import type { Cluster } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { deferCleanup } from '../helpers/cleanup.js';
import { Recorder } from '../helpers/clients.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { startCluster } from '../helpers/redis-server.js';

describe('the worker and PushQueue on Redis Cluster', () => {
  let seeds: string[] = [];
  let cluster: Cluster;

  beforeAll(async () => {
    const local = await startCluster({ primaries: 3, replicasPerPrimary: 0 });
    seeds = local.seeds;
    cluster = openRedis({ cluster: seeds }) as Cluster;
    cluster.on('error', () => undefined);
    deferCleanup(() => cluster.quit().catch(() => cluster.disconnect()));
  }, 60_000);

  it('hands each receipt once, with seen markers spread over several primaries', async () => {
    const prefix = uniquePrefix('cluster');
    const receipts = new Queue<ReceiptsJob>(QueueName.receipts, {
      connection: cluster,
      prefix: queuePrefix(prefix),
    });
    deferCleanup(() => receipts.close());
    const delivered: string[] = [];
    const completed = new Recorder<JobOutcome>();
    const worker = createWorker({
      connection: { cluster: seeds },
      prefix,
      onMessageDelivered: (r) => void delivered.push(r.id),
    });
    worker.on('completed', completed.push);
    deferCleanup(() => worker.close());

    const all: Receipt[] = Array.from({ length: 200 }, (_, i) => ({
      id: `c${i}`,
      token: `t${i % 10}`,
      data: i,
      deliveredAt: 1,
      nodeId: 'n',
      socketId: 's',
    }));
    // Every receipt in two jobs: the second batch repeats the first, shifted.
    const jobs = await receipts.addBulk(
      [all.slice(0, 100), all.slice(100), all.slice(50, 150), [...all.slice(150), ...all.slice(0, 50)]].map(
        (batch) => ({ name: 'receipts', data: { receipts: batch }, opts: { backoff: { type: 'capped' } } }),
      ),
    );
    await completed.waitForCount((o) => jobs.some((j) => j.id === o.jobId), jobs.length, 20_000);

    expect(delivered).toHaveLength(all.length);
    expect(new Set(delivered).size).toBe(all.length);
    const holders = await Promise.all(
      cluster.nodes('master').map(async (node) => (await node.keys(`${prefix}:{${prefix}.seen.*`)).length),
    );
    expect(holders.reduce((a, b) => a + b, 0)).toBe(all.length);
    expect(holders.filter((n) => n > 0).length).toBeGreaterThan(1); // not one hot slot
    expect(SEEN_SHARDS).toBeGreaterThan(1);
  });

  it('PushQueue adds jobs on the cluster', async () => {
    const prefix = uniquePrefix('clpush');
    const pushQueue = new PushQueue({ connection: { cluster: seeds }, prefix });
    deferCleanup(() => pushQueue.close());
    const id = await pushQueue.push('user-1', { hello: 1 }, { id: 'x:1' });
    const [batch] = await pushQueue.pushMany([{ token: 'a', data: 1, id: 'y' }]);
    expect(id).toBe('m-x_1');
    expect(await pushQueue.queue.getJob(batch!)).toMatchObject({
      data: { messages: [{ token: 'a', data: 1, id: 'y' }] },
    });
    expect(await pushQueue.queue.getWaitingCount()).toBe(2);
  });
});
