import { openRedis, silentLogger } from '@io-session/store';
import { openRelayQueues, type RelayQueues } from '@io-session/worker';
import { describe, expect, it } from 'vitest';
import { OutboxRelay } from '../../packages/server/src/delivery/relay.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { receiptsInQueue } from '../helpers/delivery.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { redisTarget } from '../helpers/redis-client.js';
import { openStore, type TestStore } from '../helpers/store.js';
import { waitUntil } from '../helpers/wait.js';

/** Writes `count` receipt entries to bucket 0's outbox, a minute old (stale), as ack-by-data.lua writes them. */
async function staleEntries({ store, redis }: TestStore, count: number): Promise<number> {
  const at = Date.now() - 60_000;
  for (let i = 0; i < count; i++) {
    const receipt = { id: `m${i}`, token: 't', data: i, deliveredAt: at, nodeId: 'a', socketId: 's' };
    await redis.xadd(store.keys.bucket(0).outbox, `${at}-${i}`, 'r', JSON.stringify([receipt]));
  }
  return at;
}

/** A live node instance whose relay still holds outbox entries written since `oldest` (its heartbeat report). */
async function liveSlowNode({ store }: TestStore, instance: string, oldest: number): Promise<void> {
  const report = JSON.stringify({ relayOldest: oldest });
  await store.scripts.heartbeat(store.keys.nodes, {
    instance,
    ttlMs: 60_000,
    first: true,
    report,
    gapMs: 30_000,
  });
}

function relayOf(t: TestStore, queues: RelayQueues, instance: string, more: object = {}): OutboxRelay {
  return new OutboxRelay({
    store: t.store,
    queues,
    instance: () => instance,
    logger: silentLogger,
    keepCompleted: 100_000,
    // Deduplication at the queue would hide a second relay of an entry: count at the source instead.
    dedupeMs: 1,
    ...more,
  });
}

describe('outbox relay recovery', () => {
  it("relays a slow live node's entries never, a reaped node's once: exactly one receipt job per ack", async () => {
    const prefix = uniquePrefix('relay');
    const t = openStore({ prefix, buckets: 1 });
    const connection = openRedis(redisTarget(), { maxRetriesPerRequest: null });
    connection.on('error', () => undefined);
    const queues = openRelayQueues({
      connection,
      keyPrefix: prefix,
      shards: t.store.queueShards,
      eventsMaxLen: 100,
      onError: () => undefined,
    });
    deferCleanup(async () => {
      await queues.close();
      await connection.quit();
    });
    const oldest = await staleEntries(t, 10);
    await liveSlowNode(t, 'slow~1', oldest);
    const survivor = relayOf(t, queues, 'survivor~1');

    expect(await survivor.recover()).toBe(0);
    // The slow node relays half of what it holds, then dies before relaying the rest.
    const slow = relayOf(t, queues, 'slow~1');
    slow.enqueue((await t.store.outbox.readUntil(0, Date.now())).slice(0, 5));
    await slow.drain();
    expect(await survivor.recover()).toBe(0);
    await t.redis.zrem(t.store.keys.liveNodes, 'slow~1');
    await t.redis.hdel(t.store.keys.nodeInfo, 'slow~1');

    expect(await survivor.recover()).toBe(5);
    expect(await survivor.recover()).toBe(0);
    const perId = new Map<string, number>();
    for (const { receipt } of await receiptsInQueue(t.redis, prefix))
      perId.set(receipt.id, (perId.get(receipt.id) ?? 0) + 1);
    expect([...perId].sort()).toEqual(Array.from({ length: 10 }, (_, i) => [`m${i}`, 1]).sort());
    expect(await t.redis.xlen(t.store.keys.bucket(0).outbox)).toBe(0);
  });

  it('while the queue side is away: backs off, enqueues no entry twice, holds at most its bound', async () => {
    const t = openStore({ prefix: uniquePrefix('relaydown'), buckets: 1 });
    await staleEntries(t, 3);
    const tries: number[] = [];
    const refuse = (): Promise<never> => {
      tries.push(Date.now());
      return Promise.reject(new Error('queue side away'));
    };
    const down = { receipts: [{ addBulk: refuse }], events: [{ addBulk: refuse }] } as unknown as RelayQueues;
    let deferred = 0;
    const relay = relayOf(t, down, 'n~1', { maxPending: 2, onDeferred: (n: number) => (deferred += n) });

    const first = relay.recover();
    await waitUntil(() => tries.length >= 4, { timeout: 5000, message: 'four tries' });
    // 100, 200 and 400 ms between the first four tries (no hot loop in drain()).
    expect(tries[3]! - tries[0]!).toBeGreaterThanOrEqual(600);
    expect(deferred).toBe(1);
    // The bucket's recovery lease lapses: the next recovery reads the same entries again.
    await t.redis.del(t.store.keys.bucket(0).relayLease);
    void relay.recover();
    expect(relay.backlog).toBe(2);
    await waitUntil(() => deferred >= 2, {
      timeout: 2000,
      message: 'the entry over the bound deferred again',
    });
    expect(relay.backlog).toBe(2);
    expect(relay.oldestHeld).toBeLessThan(Date.now() - 30_000);
    await relay.close();
    await first;
    expect(await t.redis.xlen(t.store.keys.bucket(0).outbox)).toBe(3);
  });
});
