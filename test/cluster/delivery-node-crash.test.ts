import { describe, expect, it } from 'vitest';
import {
  DeliveryClient,
  messageStatus,
  notOnce,
  pushAccepted,
  receiptFence,
  receiptJobsPerId,
  startReceiptSink,
  type MessageStatusBody,
} from '../helpers/delivery.js';
import { startNodes, type NodeProcess } from '../helpers/node-process.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { outboxEntriesAdded } from '../helpers/outbox.js';
import { dropPrefixAfterwards, redisClient, SHARED_REDIS_URL } from '../helpers/redis-client.js';
import { SessionEventsQueue } from '../helpers/session-events.js';
import { sessionWhere } from '../helpers/sessions-api.js';
import { waitUntil } from '../helpers/wait.js';

const BEFORE = 10;
const ACKED_BEFORE = 4;
const AFTER = 3;

async function status(url: string, id: string): Promise<MessageStatusBody> {
  const res = await messageStatus(url, id);
  if (res.status !== 200)
    throw new Error(`GET /v1/messages/${id}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as MessageStatusBody;
}

describe('a node SIGKILLed while it holds clients with pending pushes', () => {
  it('its clients reconnect to the other node and get every unacknowledged push, in order, with the same ids', async () => {
    const prefix = uniquePrefix('crash');
    dropPrefixAfterwards(prefix);
    const [a, b] = (await startNodes(2, {
      redisUrl: SHARED_REDIS_URL,
      prefix,
      env: {
        SESSION_TIMEOUT_MS: '15000',
        HEARTBEAT_MS: '200',
        HEARTBEAT_TTL_MS: '1000',
        SWEEP_INTERVAL_MS: '200',
      },
    })) as [NodeProcess, NodeProcess];
    const sink = await startReceiptSink({ redisUrl: SHARED_REDIS_URL, prefix });
    const events = new SessionEventsQueue(SHARED_REDIS_URL, prefix);
    const clients = [
      new DeliveryClient({ token: 'held-v2', v2: true, autoAck: false }),
      new DeliveryClient({ token: 'held-legacy', v2: false, autoAck: false }),
    ];
    for (const c of clients) {
      await c.connect(a.url);
      await sessionWhere(b.url, c.token, (s) => s.connections.length === 1);
    }

    // Ten pushes each through b, all received on a; the first four acknowledged there.
    const ids = new Map<string, string[]>();
    for (const c of clients) {
      const list: string[] = [];
      for (let n = 0; n < BEFORE; n++) list.push(await pushAccepted(b.url, { token: c.token, data: { n } }));
      ids.set(c.token, list);
    }
    for (const c of clients) {
      const got = await c.waitForCount(BEFORE, { conn: 0 });
      expect(got.map((d) => d.data)).toEqual(Array.from({ length: BEFORE }, (_, n) => ({ n })));
      for (const d of got.slice(0, ACKED_BEFORE)) d.ack();
    }
    for (const c of clients) {
      const list = ids.get(c.token)!;
      await waitUntil(
        async () => {
          const s = await Promise.all(list.slice(0, ACKED_BEFORE).map((id) => status(b.url, id)));
          return s.every((x) => x.status === 'delivered');
        },
        { message: `${c.token}: the first ${ACKED_BEFORE} delivered` },
      );
      for (const id of list.slice(ACKED_BEFORE)) expect((await status(b.url, id)).status).toBe('pending');
    }

    // (their receipts left a before it dies: a relay recovery after a crash is allowed duplicates, not tested here)
    await sink.log.waitForIds(clients.flatMap((c) => ids.get(c.token)!.slice(0, ACKED_BEFORE)));

    // a dies without a word.
    const closed = clients.map((c) => c.closedByPeer());
    await a.kill();
    await Promise.all(closed);

    // Three more each while the clients are away.
    for (const c of clients) {
      for (let n = BEFORE; n < BEFORE + AFTER; n++)
        ids.get(c.token)!.push(await pushAccepted(b.url, { token: c.token, data: { n } }));
    }

    // They come back on b and get what was not acknowledged, in push order.
    for (const c of clients) {
      c.autoAck = true;
      await c.connect(b.url);
    }
    const expected = Array.from({ length: BEFORE + AFTER - ACKED_BEFORE }, (_, i) => ({
      n: i + ACKED_BEFORE,
    }));
    for (const c of clients) {
      const list = ids.get(c.token)!;
      const back = await c.waitForCount(expected.length, { conn: 1 });
      expect(
        back.map((d) => d.data),
        c.token,
      ).toEqual(expected);
      for (const d of back) expect(d.url).toBe(b.url);
      if (c.v2) {
        expect(back.map((d) => d.id)).toEqual(list.slice(ACKED_BEFORE));
        // duplicates carry the id they had on a
        const first = new Map(
          c.received.items.filter((d) => d.conn === 0).map((d) => [JSON.stringify(d.data), d.id]),
        );
        for (const d of back) {
          const before = first.get(JSON.stringify(d.data));
          if (before !== undefined) expect(d.id).toBe(before);
        }
      }
    }

    // Nothing lost: every push delivered, one receipt each, from the node that got the ack.
    const all = clients.flatMap((c) => ids.get(c.token)!);
    await sink.log.waitForIds(all, 20_000);
    // At the source: every session start is one XADD on an outbox, and the receipts of one acknowledgement call
    // share one (a start per session, then between one and one-per-push receipt entries); each receipt is then
    // counted once per message at the queue below.
    const redis = redisClient(SHARED_REDIS_URL);
    const added = await outboxEntriesAdded(redis, prefix);
    expect(added, 'starts and receipt batches appended to the outboxes').toBeGreaterThan(clients.length);
    expect(added).toBeLessThanOrEqual(clients.length + all.length);
    await receiptFence([b.url], sink);
    for (const c of clients) {
      const list = ids.get(c.token)!;
      for (const [i, id] of list.entries()) {
        expect(sink.log.count(id), `${c.token} #${i}`).toBe(1);
        expect(sink.log.of(id)[0]!.receipt).toMatchObject({
          id,
          token: c.token,
          data: { n: i },
          nodeId: i < ACKED_BEFORE ? a.nodeId : b.nodeId,
        });
        expect(await status(b.url, id)).toMatchObject({ id, status: 'delivered' });
      }
      // exactly what was expected arrived on b: nothing more
      expect(c.received.items.filter((d) => d.conn === 1)).toHaveLength(expected.length);
    }

    // One receipt job per message acknowledged on b, at the queue, not behind the worker's dedupe. Those that
    // left a before it died may come twice (its relay may have queued them without deleting the entries).
    const perId = await receiptJobsPerId(redis, prefix);
    const onB = clients.flatMap((c) => ids.get(c.token)!.slice(ACKED_BEFORE));
    const onA = clients.flatMap((c) => ids.get(c.token)!.slice(0, ACKED_BEFORE));
    expect(notOnce(perId, onB), 'receipt jobs per message acknowledged on b, if not one').toEqual([]);
    expect(
      onA.filter((id) => !perId.has(id)),
      'messages acknowledged on a without a receipt job',
    ).toEqual([]);

    // The sessions lived through it: one start each, no end; a's connections were reaped.
    for (const c of clients) {
      const s = await sessionWhere(b.url, c.token, (x) => x.connections.length === 1);
      expect(s.connections[0]!.nodeId).toBe(b.nodeId);
      expect(await events.started(c.token)).toHaveLength(1);
      expect(await events.ended(c.token)).toEqual([]);
    }
    expect(b.proc.exitCode, b.output()).toBeNull();
  });
});
