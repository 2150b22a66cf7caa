import type { ReceiptsItem } from '@io-session/store';
import { describe, expect, it } from 'vitest';
import { uniquePrefix } from '../helpers/prefix.js';
import { openStore } from '../helpers/store.js';

/**
 * The trace part of a stored message (tracing on, issue 14): what the store keeps, reads back and writes into
 * receipts, at the source — Redis and the outbox entries the scripts append. A traced message reads back with its
 * data and traceparent apart; its receipt's data is the data alone, whichever script settles it; an invalid
 * traceparent is not stored.
 */
const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const ACK_TP = '00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01';

async function setup(label: string) {
  const { store } = openStore({ prefix: uniquePrefix(label) });
  const token = `${label}-t`;
  await store.sessions.connect({ token, socketId: 's1', instance: 'i1', protocol: 2 });
  const receipts: ReceiptsItem[] = [];
  store.acks.onReceipts = (item) => receipts.push(item);
  return { store, token, receipts };
}

/** The outbox entries of a bucket, decoded as a relay reads them. */
async function outbox(store: Awaited<ReturnType<typeof setup>>['store'], token: string) {
  const bucket = store.keys.bucketOf(token);
  const entries = await store.outbox.readUntil(bucket, Date.now() + 60_000);
  return entries.filter((e) => e.kind === 'receipts');
}

describe('a traced stored message', () => {
  it('reads back with its traceparent, and its receipt (ack by id) carries the ack’s traceparent and the bare data', async () => {
    const { store, token, receipts } = await setup('trid');
    const [pushed] = await store.pushes.push([
      { token, text: '{"a":[1,"~"]}', ttlMs: 60_000, traceparent: TP },
    ]);
    if (!pushed?.stored) throw new Error('not stored');
    const found = await store.inbox.find(token, pushed.id);
    expect(found).toMatchObject({ text: '{"a":[1,"~"]}', traceparent: TP });
    const page = await store.inbox.read(token, 1);
    expect(page?.pending[0]).toMatchObject({ id: pushed.id, text: '{"a":[1,"~"]}', traceparent: TP });
    const replay = await store.sessions.connect({ token, socketId: 's2', instance: 'i1', protocol: 2 });
    expect(replay.pending[0]).toMatchObject({ text: '{"a":[1,"~"]}', traceparent: TP });

    const [acked] = await store.acks.ackMany([
      {
        token,
        seq: pushed.seq,
        id: pushed.id,
        data: { a: [1, '~'] },
        nodeId: 'n',
        socketId: 's1',
        traceparent: ACK_TP,
      },
    ]);
    expect(acked).toMatchObject({ settled: true, duplicate: false });
    expect(receipts[0]?.receipts[0]).toMatchObject({
      id: pushed.id,
      data: { a: [1, '~'] },
      traceparent: ACK_TP,
    });
    // what another node's relay would read from Redis
    const [entry] = await outbox(store, token);
    expect(entry).toBeDefined();
    expect(entry?.kind === 'receipts' && entry.receipts[0]).toMatchObject({
      id: pushed.id,
      data: { a: [1, '~'] },
      traceparent: ACK_TP,
    });
  });

  it('is settled by a legacy receipt by data (ack-by-data compares the data, not the trace part)', async () => {
    const { store, token } = await setup('trdata');
    const [pushed] = await store.pushes.push([{ token, text: '"hello"', ttlMs: 60_000, traceparent: TP }]);
    if (!pushed?.stored) throw new Error('not stored');
    const result = await store.acks.ackByData('"hello"', { token, nodeId: 'n', socketId: 's1' }, 1);
    expect(result).toMatchObject({ settled: true, id: pushed.id });
    const [entry] = await outbox(store, token);
    expect(entry?.kind === 'receipts' && entry.receipts[0]).toMatchObject({ id: pushed.id, data: 'hello' });
  });

  it('stores no trace part for a traceparent that is not one, nor without one', async () => {
    const { store, token } = await setup('trbad');
    const pushed = await store.pushes.push([
      { token, text: '1', ttlMs: 60_000, traceparent: '00-zz-bad-01' },
      { token, text: '2', ttlMs: 60_000 },
    ]);
    for (const [i, p] of pushed.entries()) {
      if (!p.stored) throw new Error('not stored');
      const found = await store.inbox.find(token, p.id);
      expect(found?.text).toBe(String(i + 1));
      expect(found?.traceparent).toBeUndefined();
    }
  });
});
