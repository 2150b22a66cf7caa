import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { DeliveryClient, pushQueue, storedMessageKeys } from '../helpers/delivery.js';
import { startInProcessNode, type InProcessNode } from '../helpers/in-process-node.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { dropPrefixAfterwards, redisClient, SHARED_REDIS_URL } from '../helpers/redis-client.js';
import { waitUntil } from '../helpers/wait.js';

const COUNT = 50;

async function twoNodes(
  label: string,
): Promise<{ a: InProcessNode; b: InProcessNode; prefix: string; redis: Redis }> {
  const prefix = uniquePrefix(label);
  dropPrefixAfterwards(prefix);
  const a = await startInProcessNode({ redis: SHARED_REDIS_URL, prefix, timeout: 5000 });
  const b = await startInProcessNode({ redis: SHARED_REDIS_URL, prefix, timeout: 5000 });
  return { a, b, prefix, redis: redisClient() };
}

/** A legacy and a v2 client, both on node `a`, registered cluster-wide. */
async function readers(node: InProcessNode, tag: string): Promise<DeliveryClient[]> {
  const legacy = new DeliveryClient({ token: `${tag}-legacy`, v2: false });
  const v2 = new DeliveryClient({ token: `${tag}-v2`, v2: true });
  await legacy.connect(node.url);
  await v2.connect(node.url);
  await waitUntil(
    async () =>
      (await node.handler.getSession(legacy.token)) !== null &&
      (await node.handler.getSession(v2.token)) !== null,
  );
  return [legacy, v2];
}

/** Pushes one more message and waits for it: every earlier push has arrived by then (one connection, in order). */
async function sentinel(node: InProcessNode, client: DeliveryClient): Promise<void> {
  expect(await node.handler.pushMessage(client.token, 'end')).toBe(true);
  await client.received.waitFor((d) => d.data === 'end');
}

describe('push order', () => {
  it(`${COUNT} pushMessage calls to one token, made one after another on another node, arrive in push order`, async () => {
    const { a, b } = await twoNodes('order');
    for (const client of await readers(a, 'seq')) {
      const expected: unknown[] = [];
      const ids: string[] = [];
      for (let i = 0; i < COUNT; i++) {
        const data = { seq: i, pad: 'x'.repeat(i) };
        expected.push(data);
        if (client.v2) {
          const r = await b.handler.push({ token: client.token, data });
          if (!r.stored) throw new Error('push refused');
          ids.push(r.id);
        } else {
          expect(await b.handler.pushMessage(client.token, data)).toBe(true);
        }
      }
      await sentinel(b, client);
      expect(client.datas()).toEqual([...expected, 'end']);
      if (client.v2) expect(client.ids().slice(0, COUNT)).toEqual(ids);
      for (const d of client.received.items) expect(d.url).toBe(a.url);
    }
  });

  it(`a { messages: [...] } job of ${COUNT} on the push queue arrives in the order of the batch`, async () => {
    const { a, b, prefix } = await twoNodes('batch');
    const queue = pushQueue(SHARED_REDIS_URL, prefix);
    for (const client of await readers(b, 'batch')) {
      const messages = Array.from({ length: COUNT }, (_, i) => ({ token: client.token, data: { batch: i } }));
      const job = await queue.add('batch', { messages });
      const got = await client.waitForCount(COUNT);
      expect(got.map((d) => d.data)).toEqual(messages.map((m) => m.data));
      // ids the node derived from the job id: a retried job stores nothing twice
      if (client.v2) expect(got.map((d) => d.id)).toEqual(messages.map((_, i) => `${job.id}.${i}`));
      await sentinel(a, client);
      expect(client.received.items).toHaveLength(COUNT + 1);
    }
  });

  it('a push to a token that has no session is false and stores nothing', async () => {
    const { a, b, prefix, redis } = await twoNodes('unknown');
    const [legacy] = await readers(a, 'known');
    const before = await storedMessageKeys(redis, prefix);
    expect(await b.handler.pushMessage('nobody-here', { lost: true })).toBe(false);
    expect(await a.handler.pushMessage('nobody-here', 'lost')).toBe(false);
    expect(await b.handler.push({ token: 'nobody-here', data: 1 })).toEqual({
      stored: false,
      reason: 'no_session',
    });
    expect(await storedMessageKeys(redis, prefix)).toEqual(before);
    expect((await a.handler.store.messages.stats()).pushed).toBe(0);
    // the same call for a live session is true: the false above is about the token
    expect(await b.handler.pushMessage(legacy!.token, 'found')).toBe(true);
    await legacy!.received.waitFor((d) => d.data === 'found');
  });

  it('a batch job with a message to an unknown token stores the others and reports how many it stored', async () => {
    const { a, prefix } = await twoNodes('batchret');
    const [legacy] = await readers(a, 'ret');
    const queue = pushQueue(SHARED_REDIS_URL, prefix);
    // A producer that reads the return value keeps its completed job (the nodes remove those that say nothing).
    const job = await queue.add(
      'batch',
      {
        messages: [
          { token: legacy!.token, data: 'one' },
          { token: 'nobody-here', data: 'lost' },
          { token: legacy!.token, data: 'two' },
        ],
      },
      { removeOnComplete: false },
    );
    const got = await legacy!.waitForCount(2);
    expect(got.map((d) => d.data)).toEqual(['one', 'two']);
    const done = await waitUntil(async () => {
      // finishedOn and the return value are written by one script: a job read with one has the other
      const j = await queue.getJob(job.id!);
      return j?.finishedOn ? j : null;
    });
    // The job's return value is what a plain-BullMQ producer learns about its batch.
    expect(done.returnvalue).toEqual({ stored: 2, total: 3 });
  });
});
