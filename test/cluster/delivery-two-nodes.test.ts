import { describe, expect, it } from 'vitest';
import {
  bullQueue,
  DeliveryClient,
  mapLimit,
  messageStatus,
  notOnce,
  pushAccepted,
  receiptJobsPerId,
  startReceiptSink,
  type MessageStatusBody,
} from '../helpers/delivery.js';
import { startNodes, type NodeProcess } from '../helpers/node-process.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { dropPrefixAfterwards, SHARED_REDIS_URL } from '../helpers/redis-client.js';
import { allSessionTokens } from '../helpers/sessions-api.js';
import { openStore } from '../helpers/store.js';
import { waitUntil } from '../helpers/wait.js';

const CLIENTS = 200;

describe('pushes across two node processes', () => {
  it(`${CLIENTS} clients (half legacy, half v2), each pushed through the other node: all delivered, one receipt each`, async () => {
    const prefix = uniquePrefix('two');
    dropPrefixAfterwards(prefix);
    const nodes = await startNodes(2, {
      redisUrl: SHARED_REDIS_URL,
      prefix,
      env: { SESSION_TIMEOUT_MS: '10000' },
    });
    const [a, b] = nodes as [NodeProcess, NodeProcess];
    const sink = await startReceiptSink({ redisUrl: SHARED_REDIS_URL, prefix });
    const { store, redis } = openStore({ prefix });

    // Even clients are legacy (query token, JSON-string receipts), odd ones v2 (auth, ack callback).
    // Both kinds on both nodes.
    const home = (i: number): NodeProcess => (i % 4 < 2 ? a : b);
    const other = (i: number): NodeProcess => (home(i) === a ? b : a);
    const clients = Array.from(
      { length: CLIENTS },
      (_, i) => new DeliveryClient({ token: `c${i}`, v2: i % 2 === 1, legacyReceipt: 'string' }),
    );
    await mapLimit(clients, 50, (c, i) => c.connect(home(i).url));
    await waitUntil(async () => (await allSessionTokens(b.url, 1000)).tokens.length === CLIENTS, {
      timeout: 20_000,
      message: `${CLIENTS} sessions registered`,
    });

    const started = Date.now();
    const ids = await mapLimit(clients, 25, (c, i) =>
      pushAccepted(other(i).url, { token: c.token, data: { to: c.token, n: i } }),
    );
    expect(new Set(ids).size).toBe(CLIENTS);

    const got = await Promise.all(clients.map((c) => c.waitForCount(1, { timeout: 20_000 })));
    got.forEach(([d], i) => {
      expect(d!.data, clients[i]!.token).toEqual({ to: `c${i}`, n: i });
      expect(d!.url).toBe(home(i).url);
      if (clients[i]!.v2) expect(d!.id).toBe(ids[i]);
      else expect(d!.id).toBeUndefined();
    });
    await sink.log.waitForIds(ids, 30_000);
    console.log(
      `${CLIENTS} pushes through the other node: every receipt (${sink.mode}) within ${Date.now() - started} ms`,
    );

    // Every message reads `delivered`, through either node.
    const statuses = await mapLimit(ids, 25, async (id, i) => {
      const res = await messageStatus(i % 2 ? a.url : b.url, id);
      expect(res.status, id).toBe(200);
      return res.body as MessageStatusBody;
    });
    statuses.forEach((s, i) => {
      expect(s).toEqual({ id: ids[i], token: `c${i}`, status: 'delivered', deliveredAt: expect.any(Number) });
    });

    // Fence: a later receipt from each node has arrived, so anything relayed before it has too.
    const witnesses = [a, b].map((n, i) => ({
      node: n,
      client: new DeliveryClient({ token: `w${i}`, v2: i === 1 }),
    }));
    const witnessIds: string[] = [];
    for (const w of witnesses) {
      await w.client.connect(w.node.url);
      await waitUntil(async () => (await store.reads.getSession(w.client.token)) !== null);
      witnessIds.push(await pushAccepted(w.node.url, { token: w.client.token, data: 'witness' }));
      await w.client.waitForCount(1);
    }
    await sink.log.waitForIds(witnessIds);
    // Every receipt a script appended has reached the queue (one that only outbox recovery relays too, once it
    // is stale), and the worker has run every job: what the webhook and the queue show below is complete.
    const perId = await receiptJobsPerId(redis, prefix);
    const receiptsQueue = bullQueue('receipts', SHARED_REDIS_URL, prefix);
    await waitUntil(
      async () => {
        const counts = await receiptsQueue.getJobCounts('wait', 'active', 'delayed', 'prioritized');
        return Object.values(counts).every((n) => n === 0);
      },
      { message: 'every receipts job run' },
    );

    const duplicates = [...sink.log.duplicates()];
    expect(duplicates, `ids with more than one receipt (${sink.mode})`).toEqual([]);
    expect(sink.log.distinct).toBe(CLIENTS + witnesses.length);
    ids.forEach((id, i) => {
      const [seen] = sink.log.of(id);
      expect(seen!.receipt).toMatchObject({
        id,
        token: `c${i}`,
        data: { to: `c${i}`, n: i },
        nodeId: home(i).nodeId,
        socketId: clients[i]!.socket!.id,
      });
    });
    // Nobody got anything twice, or anything not meant for them.
    for (const c of clients) expect(c.received.items, c.token).toHaveLength(1);
    expect([...clients, ...witnesses.map((w) => w.client)].flatMap((c) => c.errors.items)).toEqual([]);
    const stats = await store.messages.stats();
    expect(stats).toEqual({ pushed: CLIENTS + 2, delivered: CLIENTS + 2, expired: 0, pending: 0 });
    console.log(`receipt jobs run twice by BullMQ (not a second job): ${sink.rerunJobs.length}`);

    // One receipt per message counted at the source, the receipts jobs the nodes added: the webhook above is fed
    // by the worker, whose dedupe drops a receipt that comes twice, so it would show one each even then.
    const wrong = notOnce(perId, [...ids, ...witnessIds]);
    expect(wrong.slice(0, 5), `${wrong.length} message id(s) without exactly one receipt job`).toEqual([]);
    expect(perId.size, 'message ids in the receipts queue').toBe(CLIENTS + witnesses.length);
    for (const n of nodes) expect(n.proc.exitCode, n.output()).toBeNull();
  });
});
