import { describe, expect, it } from 'vitest';
import { DeliveryClient, pushAccepted, pushQueue, pushViaApi } from '../helpers/delivery.js';
import { startNode } from '../helpers/node-process.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { startRedis } from '../helpers/redis-server.js';
import { openStore } from '../helpers/store.js';
import { waitUntil } from '../helpers/wait.js';

const MAX_OUTBOX_ENTRIES = 100;
const KEEP = 5;

async function backlogRefusals(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('ios_pushes_total{result="backlog"}'));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

describe('back-pressure when the queue side is behind or away', () => {
  it('refuses pushes with 503 past MAX_OUTBOX_ENTRIES (counted), and caps completed jobs of a plain producer', async () => {
    const redis = await startRedis();
    const prefix = uniquePrefix('bp');
    const env = { MAX_OUTBOX_ENTRIES: String(MAX_OUTBOX_ENTRIES), QUEUE_KEEP_COMPLETED: String(KEEP) };
    const node = await startNode({ redisUrl: redis.url, prefix, env });
    const client = new DeliveryClient({ token: 'bp', v2: true });
    await client.connect(node.url);

    // A plain BullMQ producer that sets no removeOnComplete: the consumer's side caps what it keeps.
    const queue = pushQueue(redis.url, prefix);
    for (let i = 0; i < 4 * KEEP; i++) await queue.add('push', { token: 'bp', data: { job: i } });
    await client.waitForCount(4 * KEEP, { timeout: 15_000 });
    await waitUntil(async () => (await queue.getJobCountByTypes('wait', 'active')) === 0, {
      timeout: 10_000,
    });
    expect(await queue.getJobCountByTypes('completed')).toBeLessThanOrEqual(KEEP);

    // The receipts and session events of the bucket pile up (a queue side that does not take them).
    const { store, redis: r } = openStore({ prefix, url: redis.url, buckets: 1 });
    const outbox = store.keys.bucket(0).outbox;
    for (let i = 0; i <= MAX_OUTBOX_ENTRIES; i++) await r.xadd(outbox, '*', 'r', '[]');
    const refused = await pushViaApi(node.url, { token: 'bp', data: 'over the bound' });
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ error: { code: 'unavailable' } });
    expect(await r.xlen(outbox)).toBe(MAX_OUTBOX_ENTRIES + 1);
    expect(await backlogRefusals(node.url)).toBe(1);

    // Once the queue side has caught up, pushes are taken again.
    await r.xtrim(outbox, 'MAXLEN', 0);
    await pushAccepted(node.url, { token: 'bp', data: 'after' });
    await client.waitForCount(4 * KEEP + 1);
    expect(client.datas()).not.toContain('over the bound');
  });
});
