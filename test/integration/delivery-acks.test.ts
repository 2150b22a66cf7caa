import type { DeliveredEvent } from '@io-session/server';
import { describe, expect, it } from 'vitest';
import { Recorder } from '../helpers/clients.js';
import { DeliveryClient, receiptsInQueue, type Delivered, type SeenReceipt } from '../helpers/delivery.js';
import { startInProcessNode, type InProcessNode } from '../helpers/in-process-node.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { dropPrefixAfterwards, redisClient, SHARED_REDIS_URL } from '../helpers/redis-client.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * CONTRACT §5: every acknowledged message yields exactly one receipt job, however many connections
 * acknowledge it. Two in-process nodes on one Redis; one session with a connection on each.
 */
interface Setup {
  a: InProcessNode;
  b: InProcessNode;
  prefix: string;
  delivered: Recorder<DeliveredEvent>;
  receipts: (id: string) => Promise<SeenReceipt[]>;
}

async function twoNodes(label: string): Promise<Setup> {
  const prefix = uniquePrefix(label);
  dropPrefixAfterwards(prefix);
  const a = await startInProcessNode({ redis: SHARED_REDIS_URL, prefix, timeout: 5000 });
  const b = await startInProcessNode({ redis: SHARED_REDIS_URL, prefix, timeout: 5000 });
  const delivered = new Recorder<DeliveredEvent>();
  for (const n of [a, b]) n.handler.onMessageDelivered((e) => delivered.push({ ...e }));
  const redis = redisClient();
  const receipts = async (id: string): Promise<SeenReceipt[]> =>
    (await receiptsInQueue(redis, prefix)).filter((r) => r.receipt.id === id);
  return { a, b, prefix, delivered, receipts };
}

/** Two connections of `token`, one on each node; resolves once Redis shows both. */
async function sessionOnBoth(
  s: Setup,
  token: string,
  v2: boolean,
): Promise<[DeliveryClient, DeliveryClient]> {
  const c1 = new DeliveryClient({ token, v2, autoAck: false, legacyReceipt: 'string' });
  const c2 = new DeliveryClient({ token, v2, autoAck: false, legacyReceipt: 'object' });
  await c1.connect(s.a.url);
  await c2.connect(s.b.url);
  await waitUntil(async () => (await s.a.handler.getSession(token))?.connections.length === 2, {
    message: `${token} has two connections`,
  });
  return [c1, c2];
}

/**
 * Waits until every acknowledgement the clients sent before this call has been handled by their nodes. A node
 * handles a connection's events in order over one Redis connection, so the refusal of a receipt for an
 * expired message (a code nothing else produces) arrives after the outcome of every earlier receipt.
 */
async function acksHandled(s: Setup, token: string, clients: DeliveryClient[]): Promise<void> {
  // stored without being sent (the store, not the handler), and expired at once
  const [fence] = await s.a.handler.store.pushes.push([{ token, text: '{"fence":true}', ttlMs: 1 }]);
  if (!fence?.stored) throw new Error(`no session ${token} for the fence`);
  await waitUntil(async () => (await s.a.handler.store.messages.status(fence.id))?.status === 'expired');
  await Promise.all(
    clients.map(async (client) => {
      const before = client.errors.filter((e) => e.code === 'expired_message').length;
      client.emitDelivery({ id: fence.id });
      await client.errors.waitForCount((e) => e.code === 'expired_message', before + 1);
    }),
  );
}

function refusals(clients: DeliveryClient[], code: string): number {
  return clients.reduce((n, c) => n + c.errors.filter((e) => e.code === code).length, 0);
}

/**
 * Waits until both nodes have relayed everything they had to relay before now: each node relays its outbox
 * in order, so once a receipt acknowledged later on each node is in the queue, any earlier one is too.
 */
async function relayedOnBoth(
  s: Setup,
  clients: [DeliveryClient, DeliveryClient],
  token: string,
): Promise<void> {
  const [c1, c2] = clients;
  for (const [client, node] of [
    [c1, s.a],
    [c2, s.b],
  ] as const) {
    const data = `relay-fence-${node.port}-${Math.random().toString(36).slice(2)}`;
    const before = client.received.items.length;
    expect(await s.b.handler.pushMessage(token, data)).toBe(true);
    const got = await client.received.waitFor(
      (d) => client.received.items.indexOf(d) >= before && d.data === data,
    );
    got.ack();
    const id = await waitUntil(async () => {
      const found = s.delivered.items.find((e) => e.data === data);
      return found?.id;
    });
    await waitUntil(async () => (await s.receipts(id)).length > 0, {
      message: `fence receipt ${id} relayed`,
    });
  }
}

describe('two connections of one session acknowledge the same message', () => {
  it('v2: both ack by callback at once: one onMessageDelivered, one receipt in the receipts queue', async () => {
    const s = await twoNodes('ack2');
    const token = 'two-acks-v2';
    const [c1, c2] = await sessionOnBoth(s, token, true);

    const result = await s.a.handler.push({ token, data: { text: 'once' } });
    expect(result).toMatchObject({ stored: true, duplicate: false, connections: 2 });
    const id = result.stored ? result.id : '';
    const [m1] = await c1.waitForCount(1);
    const [m2] = await c2.waitForCount(1);
    expect(m1).toMatchObject({ id, data: { text: 'once' } });
    expect(m2).toMatchObject({ id, data: { text: 'once' } });

    m1!.ack();
    m2!.ack();
    await acksHandled(s, token, [c1, c2]);

    expect(s.delivered.items).toEqual([{ token, data: { text: 'once' }, id }]);
    await relayedOnBoth(s, [c1, c2], token);
    const receipts = await s.receipts(id);
    expect(receipts).toHaveLength(1);
    expect(receipts[0]!.receipt).toMatchObject({ id, token, data: { text: 'once' } });
    expect([c1.socket?.id, c2.socket?.id]).toContain(receipts[0]!.receipt.socketId);
    expect(s.delivered.items.filter((e) => e.id === id)).toHaveLength(1);
    // no connection was told off for acknowledging a message another connection had settled
    expect(refusals([c1, c2], 'unknown_message')).toBe(0);
  });

  it('legacy: both send the seed receipt {token, data}: one receipt; the late one is refused', async () => {
    const s = await twoNodes('ack1');
    const token = 'two-acks-legacy';
    const [c1, c2] = await sessionOnBoth(s, token, false);

    expect(await s.b.handler.pushMessage(token, { text: 'seed' })).toBe(true);
    const [m1] = await c1.waitForCount(1);
    const [m2] = await c2.waitForCount(1);
    expect(m1!.data).toEqual({ text: 'seed' });
    expect(m2!.data).toEqual({ text: 'seed' });

    m1!.ack(); // a JSON string, the seed's form
    m2!.ack(); // an object
    await acksHandled(s, token, [c1, c2]);
    // the later receipt found no pending message with that data any more: refused, on one of the two (its
    // lookup by data runs after its settle found a duplicate, so it can answer after the fence)
    await waitUntil(() => refusals([c1, c2], 'unknown_message') > 0);
    expect(refusals([c1, c2], 'unknown_message')).toBe(1);

    expect(s.delivered.items).toHaveLength(1);
    const id = s.delivered.items[0]!.id;
    expect(s.delivered.items[0]).toEqual({ token, data: { text: 'seed' }, id });
    await relayedOnBoth(s, [c1, c2], token);
    const receipts = await s.receipts(id);
    expect(receipts).toHaveLength(1);
    expect(receipts[0]!.receipt).toMatchObject({ id, token, data: { text: 'seed' } });
    expect(s.delivered.items.filter((e) => e.id === id)).toHaveLength(1);
  });

  it('v2: callback on one connection, {id} receipt and a second callback on the other: one receipt', async () => {
    const s = await twoNodes('ackmix');
    const token = 'mixed-acks';
    const [c1, c2] = await sessionOnBoth(s, token, true);

    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await s.b.handler.push({ token, data: { i } });
      if (!r.stored) throw new Error('push refused');
      ids.push(r.id);
    }
    const on1 = await c1.waitForCount(3);
    const on2 = await c2.waitForCount(3);
    expect(on1.map((d) => d.id)).toEqual(ids);
    expect(on2.map((d) => d.id)).toEqual(ids);

    const byId = (list: Delivered[], id: string): Delivered => list.find((d) => d.id === id)!;
    // message 0: callback on c1, then `{ id }` on c2 and `{ id, token }` as JSON text on c2 again
    byId(on1, ids[0]!).ack();
    c2.emitDelivery({ id: ids[0] });
    c2.emitDelivery(JSON.stringify({ id: ids[0], token }));
    // message 1: `{ id }` on c1 first, then the callback on both
    c1.emitDelivery({ id: ids[1] });
    byId(on1, ids[1]!).ack();
    byId(on2, ids[1]!).ack();
    // message 2: never acknowledged
    await acksHandled(s, token, [c1, c2]);
    expect(refusals([c1, c2], 'unknown_message')).toBe(0);

    expect(s.delivered.items.map((e) => e.id).sort()).toEqual([ids[0], ids[1]].sort());
    await relayedOnBoth(s, [c1, c2], token);
    for (const id of [ids[0]!, ids[1]!]) expect(await s.receipts(id), id).toHaveLength(1);
    expect(await s.receipts(ids[2]!)).toEqual([]);
    expect(await s.a.handler.store.messages.status(ids[2]!)).toMatchObject({ status: 'pending' });
    expect((await s.a.handler.store.messages.status(ids[0]!))?.status).toBe('delivered');
    expect((await s.b.handler.store.messages.status(ids[1]!))?.status).toBe('delivered');
  });

  it("refuses an ack of another token's message or of an unknown id, and settles nothing", async () => {
    const s = await twoNodes('ackforeign');
    const owner = new DeliveryClient({ token: 'owner', v2: true, autoAck: false });
    const thief = new DeliveryClient({ token: 'thief', v2: true, autoAck: false });
    await owner.connect(s.a.url);
    await thief.connect(s.b.url);
    await waitUntil(async () => (await s.a.handler.getSession('thief')) !== null);
    const r = await s.b.handler.push({ token: 'owner', data: 'mine' });
    if (!r.stored) throw new Error('push refused');
    await owner.waitForCount(1);

    thief.emitDelivery({ id: r.id });
    thief.emitDelivery({ id: r.id, token: 'owner' });
    thief.emitDelivery({ token: 'owner', data: 'mine' });
    thief.emitDelivery({ id: 'no-such-id' });
    const refused = await thief.errors.waitForCount(() => true, 4);
    // (the token check needs no Redis, so those refusals may overtake the others)
    expect(refused.map((e) => e.code).sort()).toEqual([
      'forbidden_token',
      'forbidden_token',
      'unknown_message',
      'unknown_message',
    ]);
    expect(await s.a.handler.store.messages.status(r.id)).toMatchObject({ status: 'pending' });
    expect(s.delivered.items).toEqual([]);
    expect(owner.errors.items).toEqual([]);
  });
});
