import { openRedis, type Receipt } from '@io-session/store';
import {
  createWorker,
  MARKER_SHARDS,
  PushQueue,
  QueueName,
  queuePrefix,
  relayJobOptions,
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
import { waitUntil } from '../helpers/wait.js';
import { deferred } from '../helpers/webhook.js';
import { keysPerPrimary } from '../helpers/worker-keys.js';

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

  it('hands each job’s receipts once, with the markers of the jobs in flight spread over several primaries and gone after', async () => {
    const prefix = uniquePrefix('cluster');
    const receipts = new Queue<ReceiptsJob>(QueueName.receipts, {
      connection: cluster,
      prefix: queuePrefix(prefix),
    });
    deferCleanup(() => receipts.close());
    const jobs = 16;
    const delivered: string[] = [];
    const held = new Recorder<string>();
    const release = deferred();
    const completed = new Recorder<JobOutcome>();
    const worker = createWorker({
      connection: { cluster: seeds },
      prefix,
      concurrency: jobs,
      onReceipts: async (rs) => {
        held.push(rs[0]!.id);
        await release.promise;
      },
      onMessageDelivered: (r) => void delivered.push(r.id),
    });
    worker.on('completed', completed.push);
    deferCleanup(() => worker.close());

    const all: Receipt[] = Array.from({ length: jobs * 10 }, (_, i) => ({
      id: `c${i}`,
      token: `t${i % 10}`,
      data: i,
      deliveredAt: 1,
      nodeId: 'n',
      socketId: 's',
    }));
    const added = await receipts.addBulk(
      Array.from({ length: jobs }, (_, j) => ({
        name: 'receipts',
        data: { receipts: all.slice(j * 10, (j + 1) * 10) },
        opts: relayJobOptions,
      })),
    );
    // Every job inside its onReceipts call: one claim each, spread by job id over the shards' slots.
    await held.waitForCount(() => true, jobs, 20_000);
    const inFlight = (await keysPerPrimary(cluster, `${prefix}:*`)).map((keys) => keys.length);
    release.resolve();
    await completed.waitForCount((o) => added.some((j) => j.id === o.jobId), jobs, 20_000);

    expect(inFlight.reduce((a, b) => a + b, 0)).toBe(jobs);
    expect(inFlight.filter((n) => n > 0).length).toBeGreaterThan(1); // not one hot slot
    expect(MARKER_SHARDS).toBeGreaterThan(1);
    expect(delivered).toHaveLength(all.length);
    expect(new Set(delivered).size).toBe(all.length);
    await waitUntil(async () => (await keysPerPrimary(cluster, `${prefix}:*`)).flat().length === 0, {
      message: 'no dedupe marker left',
    });
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
