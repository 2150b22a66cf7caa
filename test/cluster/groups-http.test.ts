import { memberMessageId, recipientMessageId } from '@io-session/store';
import { describe, expect, it } from 'vitest';
import { api, type ApiResponse } from '../helpers/clients.js';
import { DeliveryClient, mapLimit, messageStatus, notOnce, receiptJobsPerId } from '../helpers/delivery.js';
import { startNodes, TEST_API_KEY, type NodeProcess } from '../helpers/node-process.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { dropPrefixAfterwards, redisClient, SHARED_REDIS_URL } from '../helpers/redis-client.js';
import { openStore } from '../helpers/store.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * CONTRACT §10 over HTTP, two node processes (on one Redis, or on the Redis Cluster in the redis-cluster project):
 * membership by PUT / DELETE, a group's members page by page, group pushes and pushes to several tokens, each
 * member its own message and exactly one receipt job (counted at the source); bad input refused, nothing changed.
 */
const MEMBERS = 40;

function call<T = unknown>(
  url: string,
  method: 'GET' | 'PUT' | 'DELETE' | 'POST',
  path: string,
  body?: unknown,
) {
  return api<T>(url, path, { method, apiKey: TEST_API_KEY, ...(body !== undefined ? { body } : {}) });
}

async function setup(
  label: string,
): Promise<{ a: NodeProcess; b: NodeProcess; prefix: string; pushed: () => Promise<number> }> {
  const prefix = uniquePrefix(label);
  dropPrefixAfterwards(prefix);
  const [a, b] = (await startNodes(2, {
    redisUrl: SHARED_REDIS_URL,
    prefix,
    env: { SESSION_TIMEOUT_MS: '10000' },
  })) as [NodeProcess, NodeProcess];
  // the nodes' bucket count: 1 on a single Redis, 16 on a Cluster
  const { store } = openStore({ prefix, buckets: process.env.TEST_REDIS === 'cluster' ? 16 : 1 });
  return { a, b, prefix, pushed: async () => (await store.messages.stats()).pushed };
}

describe('groups over HTTP (CONTRACT §10)', () => {
  it(`${MEMBERS} members on two nodes: PUT joins, GET pages each once, a group push reaches each once`, async () => {
    const { a, b, prefix, pushed } = await setup('ghttp');
    const clients = Array.from(
      { length: MEMBERS },
      (_, i) => new DeliveryClient({ token: `g${i}`, v2: i % 2 === 1 }),
    );
    await mapLimit(clients, 20, (c, i) => c.connect((i % 2 ? a : b).url));
    const outsider = new DeliveryClient({ token: 'outsider', v2: true });
    await outsider.connect(a.url);
    for (const c of clients)
      expect((await call(b.url, 'PUT', `/v1/sessions/${c.token}/groups/zone:5`)).status).toBe(204);
    expect((await call(a.url, 'PUT', '/v1/sessions/g0/groups/zone:5')).status).toBe(204); // again: no change

    const listed: string[] = [];
    let next: string | null = null;
    do {
      const q: string = next ? `?limit=7&cursor=${encodeURIComponent(next)}` : '?limit=7';
      const page: ApiResponse<{ tokens: string[]; next: string | null }> = await call(
        a.url,
        'GET',
        `/v1/groups/zone:5${q}`,
      );
      expect(page.status).toBe(200);
      listed.push(...page.body.tokens);
      next = page.body.next;
    } while (next);
    expect(listed.sort()).toEqual(clients.map((c) => c.token).sort());

    const res = await call<{ id: string; recipients: number }>(a.url, 'POST', '/v1/groups/zone:5/push', {
      data: { text: 'closing' },
      id: 'close-5',
    });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ id: 'close-5', recipients: MEMBERS });
    const retried = await call(b.url, 'POST', '/v1/groups/zone:5/push', {
      data: { text: 'closing' },
      id: 'close-5',
    });
    expect(retried.body).toEqual({ id: 'close-5', recipients: MEMBERS });

    await Promise.all(clients.map((c) => c.waitForCount(1, { timeout: 20_000 })));
    const ids = clients.map((c) => memberMessageId('close-5', c.token, 'zone:5'));
    for (const [i, c] of clients.entries()) if (c.v2) expect(c.received.items[0]?.id).toBe(ids[i]);
    await waitUntil(
      async () => ((await messageStatus(a.url, ids[0]!)).body as { status?: string }).status === 'delivered',
    );
    expect(notOnce(await receiptJobsPerId(redisClient(), prefix), ids)).toEqual([]);
    expect(await pushed()).toBe(MEMBERS);
    expect(outsider.received.items).toHaveLength(0);

    // DELETE ends the membership; a logout ends them all
    expect((await call(a.url, 'DELETE', '/v1/sessions/g0/groups/zone:5')).status).toBe(204);
    expect((await call(a.url, 'DELETE', '/v1/sessions/g1')).status).toBe(204);
    const after = await call<{ tokens: string[] }>(b.url, 'GET', '/v1/groups/zone:5?limit=1000');
    expect(after.body.tokens).toHaveLength(MEMBERS - 2);
    expect(after.body.tokens).not.toContain('g0');
    expect(after.body.tokens).not.toContain('g1');
  });

  it('POST /v1/push with tokens: results in the order given, derived ids, a retried call a duplicate', async () => {
    const { a, b, pushed } = await setup('thttp');
    const clients = [
      new DeliveryClient({ token: 'p0', v2: true }),
      new DeliveryClient({ token: 'p1', v2: true }),
    ];
    await clients[0]!.connect(a.url);
    await clients[1]!.connect(b.url);
    const body = { tokens: ['p1', 'nobody', 'p0'], data: 'hello', id: 'three' };
    const res = await call<{ results: unknown[] }>(b.url, 'POST', '/v1/push', body);
    expect(res.status).toBe(202);
    expect(res.body.results).toEqual([
      { token: 'p1', id: recipientMessageId('three', 'p1'), accepted: true },
      { token: 'nobody', id: recipientMessageId('three', 'nobody'), accepted: false, reason: 'no_session' },
      { token: 'p0', id: recipientMessageId('three', 'p0'), accepted: true },
    ]);
    const again = await call<{ results: { duplicate?: boolean }[] }>(a.url, 'POST', '/v1/push', body);
    expect(again.body.results.map((r) => r.duplicate)).toEqual([true, undefined, true]);
    for (const c of clients) await c.waitForCount(1);
    expect(await pushed()).toBe(2);
  });

  it('refuses bad input with a clear 4xx and changes nothing', async () => {
    const { a, pushed } = await setup('gbad');
    const c = new DeliveryClient({ token: 'only', v2: true });
    await c.connect(a.url);
    const bad: [string, 'GET' | 'PUT' | 'DELETE' | 'POST', string, unknown, number, string][] = [
      ['empty tokens', 'POST', '/v1/push', { tokens: [], data: 1 }, 400, 'bad_request'],
      [
        '1,001 tokens',
        'POST',
        '/v1/push',
        { tokens: Array.from({ length: 1001 }, (_, i) => `t${i}`), data: 1 },
        400,
        'bad_request',
      ],
      ['a token twice', 'POST', '/v1/push', { tokens: ['only', 'only'], data: 1 }, 400, 'bad_request'],
      [
        'tokens and token',
        'POST',
        '/v1/push',
        { tokens: ['only'], token: 'only', data: 1 },
        400,
        'bad_request',
      ],
      ['a name with a space', 'PUT', '/v1/sessions/only/groups/bad%20name', undefined, 400, 'bad_request'],
      [
        'a name of 129 characters',
        'PUT',
        `/v1/sessions/only/groups/${'x'.repeat(129)}`,
        undefined,
        400,
        'bad_request',
      ],
      ['a name with @', 'GET', '/v1/groups/a@b', undefined, 400, 'bad_request'],
      ['a push to a bad name', 'POST', '/v1/groups/a%2Fb/push', { data: 1 }, 400, 'bad_request'],
      ['a push to an empty group', 'POST', '/v1/groups/nobody/push', { data: 1 }, 404, 'not_found'],
      ['a group push without data', 'POST', '/v1/groups/nobody/push', {}, 400, 'bad_request'],
      [
        'a group push with an unknown field',
        'POST',
        '/v1/groups/g/push',
        { data: 1, ttl: 5 },
        400,
        'bad_request',
      ],
      ['a join of no session', 'PUT', '/v1/sessions/ghost/groups/g', undefined, 404, 'not_found'],
      ['a leave of no session', 'DELETE', '/v1/sessions/ghost/groups/g', undefined, 404, 'not_found'],
      ['a bad cursor', 'GET', '/v1/groups/g?cursor=nope', undefined, 400, 'bad_request'],
    ];
    for (const [what, method, path, body, status, code] of bad) {
      const res = await call<{ error?: { code: string } }>(a.url, method, path, body);
      expect(res.status, what).toBe(status);
      expect(res.body.error?.code, what).toBe(code);
    }
    expect(await pushed()).toBe(0);
    expect((await call<{ tokens: string[] }>(a.url, 'GET', '/v1/groups/g')).body.tokens).toEqual([]);
  });
});
