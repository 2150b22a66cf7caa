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
import { io } from 'socket.io-client';
import { storeDefaults } from '@io-session/store';
import { startInProcessNode } from '../helpers/in-process-node.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { deferCleanup } from '../helpers/cleanup.js';
import { Recorder } from '../helpers/clients.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { startCluster } from '../helpers/redis-server.js';
import { waitUntil } from '../helpers/wait.js';
import { deferred } from '../helpers/webhook.js';
import { keysPerPrimary } from '../helpers/worker-keys.js';

/** The worker's dedupe markers per primary: its keys under `<prefix>:` but the layout record it claims. */
async function markersPerPrimary(cluster: Cluster, prefix: string): Promise<string[][]> {
  const perPrimary = await keysPerPrimary(cluster, `${prefix}:*`);
  return perPrimary.map((keys) => keys.filter((key) => !key.endsWith('.meta}:config')));
}

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
    const inFlight = (await markersPerPrimary(cluster, prefix)).map((keys) => keys.length);
    release.resolve();
    await completed.waitForCount((o) => added.some((j) => j.id === o.jobId), jobs, 20_000);

    expect(inFlight.reduce((a, b) => a + b, 0)).toBe(jobs);
    expect(inFlight.filter((n) => n > 0).length).toBeGreaterThan(1); // not one hot slot
    expect(MARKER_SHARDS).toBeGreaterThan(1);
    expect(delivered).toHaveLength(all.length);
    expect(new Set(delivered).size).toBe(all.length);
    await waitUntil(async () => (await markersPerPrimary(cluster, prefix)).flat().length === 0, {
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

  it('spreads push and receipt jobs over the queue shards and the primaries, and the worker consumes every shard', async () => {
    const prefix = uniquePrefix('clshard');
    // Keep the relayed receipt jobs, to count them per shard at the source.
    const node = await startInProcessNode({ redis: { cluster: seeds }, prefix, keepCompletedJobs: 10_000 });
    const tokens = Array.from({ length: 60 }, (_, i) => `s${i}`);
    for (const token of tokens) {
      const socket = io(node.url, { auth: { token, v: 2 }, transports: ['websocket'], forceNew: true });
      socket.on('push_message', (_m: unknown, ack?: () => void) => ack?.());
      deferCleanup(() => socket.disconnect());
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    }
    const delivered = new Recorder<string>();
    const worker = createWorker({
      connection: { cluster: seeds },
      prefix,
      onMessageDelivered: (r) => void delivered.push(r.id),
    });
    deferCleanup(() => worker.close());
    await worker.ready();
    const shards = storeDefaults.clusterQueueShards;
    expect(worker.queues).toHaveLength(shards); // every receipts shard (no session-events handler)

    const pushQueue = new PushQueue({ connection: { cluster: seeds }, prefix });
    deferCleanup(() => pushQueue.close());
    const queues = await pushQueue.shardQueues();
    expect(queues).toHaveLength(shards); // read from the layout record the node wrote
    await pushQueue.pushMany(tokens.map((token, i) => ({ token, data: i, id: `m${i}` })));
    await delivered.waitForCount(() => true, tokens.length, 20_000);
    expect(new Set(delivered.items).size).toBe(tokens.length);
    // Job ids repeat across shards (BullMQ numbers each queue's jobs from 1): each job is still handed over.

    const pushJobs = await Promise.all(queues.map((q) => q.getCompletedCount()));
    const receiptJobs = await Promise.all(
      Array.from({ length: shards }, async (_, k) => {
        const q = new Queue(QueueName.receipts, {
          connection: cluster,
          prefix: queuePrefix(prefix, k, shards),
        });
        deferCleanup(() => q.close());
        return q.getCompletedCount();
      }),
    );
    expect(pushJobs.filter((n) => n > 0).length).toBeGreaterThan(1);
    expect(receiptJobs.filter((n) => n > 0).length).toBeGreaterThan(1);
    // BullMQ keys of the shards live on every primary (shard 0 is `{prefix}`, the others `{prefix.q<k>…}`).
    const perPrimary = (await keysPerPrimary(cluster, `{${prefix}*`)).map((keys) => keys.length);
    expect(perPrimary.filter((n) => n > 0).length).toBe(perPrimary.length);
  });
});
