import { describe, expect, it } from 'vitest';
import {
  DeliveryClient,
  pushAccepted,
  pushQueue,
  pushViaApi,
  storedMessageKeys,
  type PushRefused,
} from '../helpers/delivery.js';
import { startNodes, type NodeProcess } from '../helpers/node-process.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { dropPrefixAfterwards, redisClient, SHARED_REDIS_URL } from '../helpers/redis-client.js';
import { sessionWhere } from '../helpers/sessions-api.js';

const COUNT = 50;

async function cluster(label: string): Promise<{ a: NodeProcess; b: NodeProcess; prefix: string }> {
  const prefix = uniquePrefix(label);
  dropPrefixAfterwards(prefix);
  const [a, b] = (await startNodes(2, { redisUrl: SHARED_REDIS_URL, prefix })) as [NodeProcess, NodeProcess];
  return { a, b, prefix };
}

/** A legacy and a v2 client on `node`, registered cluster-wide. */
async function readers(node: NodeProcess, tag: string): Promise<DeliveryClient[]> {
  const clients = [
    new DeliveryClient({ token: `${tag}-legacy`, v2: false }),
    new DeliveryClient({ token: `${tag}-v2`, v2: true }),
  ];
  for (const c of clients) {
    await c.connect(node.url);
    await sessionWhere(node.url, c.token, (s) => s.connections.length === 1);
  }
  return clients;
}

/** One more push through `url`; once it arrived, every earlier push through that node has too. */
async function sentinel(url: string, client: DeliveryClient): Promise<void> {
  await pushAccepted(url, { token: client.token, data: 'end' });
  await client.received.waitFor((d) => d.data === 'end');
}

describe('push order through node processes', () => {
  it(`${COUNT} pushes to one token, one after another through the other node's API, arrive in push order`, async () => {
    const { a, b } = await cluster('order');
    for (const client of await readers(b, 'seq')) {
      const datas: unknown[] = [];
      const ids: string[] = [];
      for (let i = 0; i < COUNT; i++) {
        const data = { seq: i, text: `message ${i}` };
        datas.push(data);
        ids.push(await pushAccepted(a.url, { token: client.token, data }));
      }
      await sentinel(a.url, client);
      expect(client.datas()).toEqual([...datas, 'end']);
      if (client.v2) expect(client.ids().slice(0, COUNT)).toEqual(ids);
    }
  });

  it(`a { messages: [...] } job of ${COUNT} on the push queue arrives in the order of the batch`, async () => {
    const { a, prefix } = await cluster('batch');
    const queue = pushQueue(SHARED_REDIS_URL, prefix);
    for (const client of await readers(a, 'batch')) {
      const messages = Array.from({ length: COUNT }, (_, i) => ({ token: client.token, data: { batch: i } }));
      const job = await queue.add('batch', { messages });
      const got = await client.waitForCount(COUNT);
      expect(got.map((d) => d.data)).toEqual(messages.map((m) => m.data));
      if (client.v2) expect(got.map((d) => d.id)).toEqual(messages.map((_, i) => `${job.id}.${i}`));
      await sentinel(a.url, client);
      expect(client.received.items).toHaveLength(COUNT + 1);
    }
  });

  it('a push to a token that has no session answers 404 {accepted: false} and stores nothing', async () => {
    const { a, b, prefix } = await cluster('unknown');
    const redis = redisClient();
    const [legacy] = await readers(a, 'known');
    for (const url of [a.url, b.url]) {
      const res = await pushViaApi(url, { token: 'nobody-here', data: { lost: true } });
      expect(res.status).toBe(404);
      expect((res.body as PushRefused).accepted).toBe(false);
    }
    expect(await storedMessageKeys(redis, prefix)).toEqual([]);
    // the same push to a live session is accepted: the 404 is about the token
    await pushAccepted(b.url, { token: legacy!.token, data: 'found' });
    await legacy!.received.waitFor((d) => d.data === 'found');
    expect(await storedMessageKeys(redis, prefix)).toHaveLength(1);
  });

  // Apps behind a load balancer push through any node. Each push is accepted (202) before the next one is
  // made, so "push order" is well defined; the node that accepted a push routes it at once when it holds the
  // client, while another node's push travels over Redis pub/sub and may still be on its way.
  it('pushes one after another through alternating nodes arrive in push order', async () => {
    const { a, b } = await cluster('alt');
    for (const client of await readers(a, 'alt')) {
      const datas: unknown[] = [];
      for (let i = 0; i < 4 * COUNT; i++) {
        datas.push({ alt: i });
        await pushAccepted(i % 2 ? a.url : b.url, { token: client.token, data: { alt: i } });
      }
      await client.waitForCount(datas.length);
      const order = client.received.items.map((d) => (d.data as { alt: number }).alt);
      const swapped = order.filter((n, i) => i > 0 && n < order[i - 1]!);
      expect(swapped, `${client.token}: ${order.join(' ')}`).toEqual([]);
      expect(client.datas()).toEqual(datas);
    }
  });
});
