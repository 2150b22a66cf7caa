import { PushQueue, QueueName, queuePrefix, type PushJob } from '@io-session/worker';
import { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { deferCleanup } from '../helpers/cleanup.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { dropPrefixAfterwards, redisClient, redisTarget } from '../helpers/redis-client.js';

/** A PushQueue and a plain BullMQ view of the same `push` queue (nothing consumes it: no node runs). */
function setup(label: string): { prefix: string; pushQueue: PushQueue; queue: Queue<PushJob> } {
  const prefix = uniquePrefix(label);
  dropPrefixAfterwards(prefix);
  const pushQueue = new PushQueue({ connection: redisTarget(), prefix });
  deferCleanup(() => pushQueue.close());
  const queue = new Queue<PushJob>(QueueName.push, {
    connection: redisClient(),
    prefix: queuePrefix(prefix),
  });
  deferCleanup(() => queue.close());
  return { prefix, pushQueue, queue };
}

describe('PushQueue (CONTRACT §6 push queue)', () => {
  it('adds { token, data, id?, ttlMs? } jobs under the {<prefix>} BullMQ prefix, retried with backoff', async () => {
    const { prefix, pushQueue, queue } = setup('push');
    const withId = await pushQueue.push('user-1', { text: 'hi' }, { id: 'order:17', ttlMs: 5000 });
    const without = await pushQueue.push('user-2', 'plain');

    expect(withId).toBe('m-order_17'); // BullMQ job ids may not contain ':'
    const job = await queue.getJob(withId);
    expect(job?.data).toEqual({ token: 'user-1', data: { text: 'hi' }, id: 'order:17', ttlMs: 5000 });
    expect(job?.opts.attempts).toBe(5);
    expect(job?.opts.backoff).toEqual({ type: 'exponential', delay: 1000 });
    expect(job?.opts.removeOnComplete).toEqual({ age: 3600, count: 100_000 });

    const plain = await queue.getJob(without);
    expect(plain?.data).toStrictEqual({ token: 'user-2', data: 'plain' }); // no undefined id / ttlMs keys
    expect(await redisClient().exists(`{${prefix}}:push:${withId}`)).toBe(1);
  });

  it('enqueues a message id once, however often a producer retries it', async () => {
    const { pushQueue, queue } = setup('dedupe');
    const first = await pushQueue.push('user-1', { n: 1 }, { id: 'm-42' });
    const again = await pushQueue.push('user-1', { n: 1 }, { id: 'm-42' });
    const other = await pushQueue.push('user-1', { n: 2 }, { id: 'm-43' });

    expect(again).toBe(first);
    expect(other).not.toBe(first);
    expect(await queue.getWaitingCount()).toBe(2);
  });

  it('pushMany: { messages: [...] } jobs of up to 1000 messages, in order, deduplicated when all have ids', async () => {
    const { pushQueue, queue } = setup('many');
    const messages = Array.from({ length: 2500 }, (_, i) => ({
      token: `t${i % 7}`,
      data: { i },
      id: `id-${i}`,
    }));
    const ids = await pushQueue.pushMany(messages);

    expect(ids).toHaveLength(3);
    const jobs = await Promise.all(ids.map((id) => queue.getJob(id)));
    const batches = jobs.map((j) => (j?.data as { messages: unknown[] }).messages);
    expect(batches.map((b) => b.length)).toEqual([1000, 1000, 500]);
    expect(batches.flat()).toEqual(messages);

    expect(await pushQueue.pushMany(messages)).toEqual(ids); // a retried producer adds nothing
    expect(await queue.getWaitingCount()).toBe(3);

    const anonymous = await pushQueue.pushMany([
      { token: 'a', data: 1 },
      { token: 'b', data: 2 },
    ]);
    const anonymousAgain = await pushQueue.pushMany([
      { token: 'a', data: 1 },
      { token: 'b', data: 2 },
    ]);
    expect(anonymousAgain[0]).not.toBe(anonymous[0]); // without ids nothing tells them apart
    expect(await pushQueue.pushMany([])).toEqual([]);
  });

  it('broadcast: a { broadcast: true, data } job', async () => {
    const { pushQueue, queue } = setup('bcast');
    const id = await pushQueue.broadcast({ maintenance: true });
    expect((await queue.getJob(id))?.data).toEqual({ broadcast: true, data: { maintenance: true } });
  });

  it('refuses a message no node could deliver, before touching Redis', async () => {
    const { pushQueue, queue } = setup('bad');
    await expect(pushQueue.push('', 'x')).rejects.toThrow(/token/);
    await expect(pushQueue.push('t', undefined)).rejects.toThrow(/needs data/);
    await expect(pushQueue.push('t', 'x', { ttlMs: 0 })).rejects.toThrow(/ttlMs/);
    await expect(pushQueue.push('t', 'x', { id: '' })).rejects.toThrow(/id/);
    await expect(
      pushQueue.pushMany([
        { token: 'ok', data: 1 },
        { token: '', data: 2 },
      ]),
    ).rejects.toThrow(/token/);
    expect(await queue.getWaitingCount()).toBe(0);
  });
});
