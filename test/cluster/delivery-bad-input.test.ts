import { describe, expect, it } from 'vitest';
import { api, type ApiResponse } from '../helpers/clients.js';
import type { PushJob } from '@io-session/worker';
import {
  DeliveryClient,
  messageStatus,
  pushAccepted,
  pushQueue,
  pushViaApi,
  storedMessageKeys,
  type ApiErrorBody,
  type MessageStatusBody,
} from '../helpers/delivery.js';
import { startNode, TEST_API_KEY } from '../helpers/node-process.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { dropPrefixAfterwards, redisClient, SHARED_REDIS_URL } from '../helpers/redis-client.js';
import { startRedis } from '../helpers/redis-server.js';
import { sessionWhere } from '../helpers/sessions-api.js';
import { openStore } from '../helpers/store.js';
import { waitUntil } from '../helpers/wait.js';

const MAX_PAYLOAD_BYTES = 1024;

/** A raw POST (for bodies `api()` cannot send: not JSON, empty). */
async function rawPost(
  url: string,
  path: string,
  body: string,
  contentType = 'application/json',
): Promise<ApiResponse> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': contentType },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch {
    // left as text: the assertion below shows it
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

function expectError(res: ApiResponse, status: number, code: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers.get('content-type') ?? '').toContain('application/json');
  const body = res.body as ApiErrorBody;
  expect(body).toEqual({ error: { code, message: expect.any(String) } });
  expect(body.error.message.length).toBeGreaterThan(0);
}

describe('bad input to the push API', () => {
  it('answers 4xx {error:{code,message}} and stores nothing', async () => {
    const prefix = uniquePrefix('bad');
    dropPrefixAfterwards(prefix);
    const node = await startNode({
      redisUrl: SHARED_REDIS_URL,
      prefix,
      env: { MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD_BYTES) },
    });
    const redis = redisClient();
    const { store } = openStore({ prefix });
    const token = 'target';
    const client = new DeliveryClient({ token, v2: true });
    await client.connect(node.url);
    await sessionWhere(node.url, token, (s) => s.connections.length === 1);

    // data just over MAX_PAYLOAD_BYTES (the body is within the HTTP limit: the API's own check)
    const over = 'x'.repeat(MAX_PAYLOAD_BYTES + 1);
    expectError(await pushViaApi(node.url, { token, data: over }), 413, 'payload_too_large');
    // a body far over it (refused while reading the body)
    expectError(
      await pushViaApi(node.url, { token, data: 'y'.repeat(20 * MAX_PAYLOAD_BYTES) }),
      413,
      'payload_too_large',
    );
    expectError(
      await api(node.url, '/v1/broadcast', { method: 'POST', body: { data: over }, apiKey: TEST_API_KEY }),
      413,
      'payload_too_large',
    );
    // no token, an empty token, a token that is not a string
    expectError(
      await api(node.url, '/v1/push', { method: 'POST', body: { data: 1 }, apiKey: TEST_API_KEY }),
      400,
      'bad_request',
    );
    expectError(await pushViaApi(node.url, { token: '', data: 1 }), 400, 'bad_request');
    expectError(
      await api(node.url, '/v1/push', { method: 'POST', body: { token: 42, data: 1 }, apiKey: TEST_API_KEY }),
      400,
      'bad_request',
    );
    // not JSON at all, truncated JSON, an empty body, a JSON array
    expectError(await rawPost(node.url, '/v1/push', 'token=target&data=1'), 400, 'bad_request');
    expectError(await rawPost(node.url, '/v1/push', `{"token":"${token}","data":`), 400, 'bad_request');
    expectError(await rawPost(node.url, '/v1/push', ''), 400, 'bad_request');
    expectError(
      await rawPost(node.url, '/v1/push', JSON.stringify([{ token, data: 1 }])),
      400,
      'bad_request',
    );
    // data nested deeper than MAX_DEPTH (64) in a small body: 400 naming the field, never a 500
    const deep = (levels: number): string => `${'['.repeat(levels)}0${']'.repeat(levels)}`;
    for (const levels of [65, 500]) {
      const res = await rawPost(node.url, '/v1/push', `{"token":"${token}","data":${deep(levels)}}`);
      expectError(res, 400, 'bad_request');
      expect((res.body as ApiErrorBody).error.message).toBe(
        'data: nested deeper than 64 levels (or circular)',
      );
      expectError(await rawPost(node.url, '/v1/broadcast', `{"data":${deep(levels)}}`), 400, 'bad_request');
    }
    // a ttlMs out of range names it (the store would have kept the message without an expiry)
    const ttl = await rawPost(node.url, '/v1/push', `{"token":"${token}","data":1,"ttlMs":1e300}`);
    expectError(ttl, 400, 'bad_request');
    expect((ttl.body as ApiErrorBody).error.message).toMatch(/^ttlMs: /);
    // Fastify's own refusals, in the same shape
    expectError(
      await rawPost(node.url, '/v1/push', `{"token":"${token}","data":1}`, 'application/xml'),
      415,
      'unsupported_media_type',
    );
    expectError(
      await rawPost(node.url, '/v1/push', '{"__proto__":{"x":1},"token":"t","data":1}'),
      400,
      'bad_request',
    );
    expectError(await api(node.url, '/v1/sessions/%ZZ', { apiKey: TEST_API_KEY }), 400, 'bad_request');
    expectError(
      await api(node.url, `/v1/sessions/${'x'.repeat(1100)}`, { apiKey: TEST_API_KEY }),
      414,
      'uri_too_long',
    );
    expectError(await api(node.url, `/v1/messages/%E0%A4%A`, { apiKey: TEST_API_KEY }), 400, 'bad_request');
    const bigHeaders = await fetch(`${node.url}/v1/stats`, { headers: { 'x-filler': 'f'.repeat(20_000) } });
    expect(bigHeaders.status).toBe(431);
    expect(await bigHeaders.json()).toEqual({
      error: { code: 'headers_too_large', message: expect.any(String) },
    });
    // an unknown message id
    expectError(await messageStatus(node.url, 'no-such-message'), 404, 'not_found');
    expectError(await messageStatus(node.url, '3.AAAAAAAAAAAAAAAA'), 404, 'not_found');

    // Nothing of it was stored or sent.
    expect(await storedMessageKeys(redis, prefix)).toEqual([]);
    expect(await store.messages.stats()).toEqual({ pushed: 0, delivered: 0, expired: 0, pending: 0 });
    const ok = await pushAccepted(node.url, { token, data: 'fine' });
    await client.received.waitFor((d) => d.data === 'fine');
    expect(client.received.items.map((d) => d.id)).toEqual([ok]);
    expect((await store.messages.stats()).pushed).toBe(1);
    // a payload of exactly the limit is accepted: the 413 is about size
    const exact = 'z'.repeat(MAX_PAYLOAD_BYTES - 2); // JSON text of a string adds its two quotes
    const atLimit = await pushViaApi(node.url, { token, data: exact });
    expect(atLimit.status, JSON.stringify(atLimit.body)).toBe(202);
    // and so is data nested exactly MAX_DEPTH levels: it reaches the client
    const deepest = await pushAccepted(node.url, { token, data: JSON.parse(deep(64)) as unknown });
    await client.received.waitFor((d) => d.id === deepest);
    expect(node.proc.exitCode, node.output()).toBeNull();
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    expect(metrics).not.toMatch(/ios_unexpected_errors_total\{[^}]*\} [1-9]/);
  });

  it('fails a push job that breaks a limit once, naming the field, and stores nothing', async () => {
    const prefix = uniquePrefix('badjob');
    dropPrefixAfterwards(prefix);
    const node = await startNode({
      redisUrl: SHARED_REDIS_URL,
      prefix,
      env: { MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD_BYTES) },
    });
    const redis = redisClient();
    const { store } = openStore({ prefix });
    const token = 'queued';
    const client = new DeliveryClient({ token, v2: true });
    await client.connect(node.url);
    await sessionWhere(node.url, token, (s) => s.connections.length === 1);
    const queue = pushQueue(SHARED_REDIS_URL, prefix);
    const nested = (levels: number): unknown => {
      let value: unknown = 0;
      for (let i = 0; i < levels; i++) value = [value];
      return value;
    };
    const message = { token, data: 'fine' };
    const huge = 'h'.repeat(10 * 1024 * 1024);
    const jobs: [what: string, data: unknown, reason: RegExp][] = [
      ['a string', 'hello', /^job data: must be .*got a string$/],
      ['a number', 42, /^job data: must be .*got a number$/],
      ['null', null, /^job data: must be .*got null$/],
      ['10 MB of data', { token, data: huge }, /^data: larger than 1024 bytes of JSON$/],
      [
        'data just over MAX_PAYLOAD_BYTES',
        { token, data: 'o'.repeat(MAX_PAYLOAD_BYTES) },
        /^data: larger than 1024/,
      ],
      ['data nested 2,000 deep (4 KB)', { token, data: nested(2000) }, /^data: nested deeper than 64 levels/],
      ['ttlMs 1e300', { token, data: 1, ttlMs: 1e300 }, /^ttlMs: /],
      [
        'a batch of 20,000',
        { messages: Array(20_000).fill(message) },
        /^messages: at most 1000 messages per job \(MAX_BATCH\), got 20000$/,
      ],
      [
        'a batch of 100,000',
        { messages: Array(100_000).fill(message) },
        /^messages: at most 1000 .* got 100000$/,
      ],
      [
        'a batch with one bad member',
        { messages: [message, { token, data: nested(100) }] },
        /^messages\[1\]\.data: nested deeper/,
      ],
      ['a 10 MB broadcast', { broadcast: true, data: huge }, /^data: larger than 1024 bytes of JSON$/],
      ['a deep broadcast', { broadcast: true, data: nested(2000) }, /^data: nested deeper than 64 levels/],
    ];
    const added = await Promise.all(
      jobs.map(([what, data]) =>
        queue.add(what, data as PushJob, { attempts: 3, backoff: { type: 'fixed', delay: 100 } }),
      ),
    );
    for (const [i, job] of added.entries()) {
      const [what, , reason] = jobs[i]!;
      await waitUntil(async () => (await queue.getJobState(job.id!)) === 'failed', {
        message: `${what} fails`,
      });
      const failed = (await queue.getJob(job.id!))!;
      expect(failed.attemptsMade, what).toBe(1);
      expect(failed.failedReason, what).toMatch(reason);
    }
    // nothing was stored or sent; the node is up and a good job still goes through
    expect(await storedMessageKeys(redis, prefix)).toEqual([]);
    expect((await store.messages.stats()).pushed).toBe(0);
    expect(client.received.items).toEqual([]);
    await queue.add('good', { token, data: 'after' });
    await client.received.waitFor((d) => d.data === 'after');
    expect(client.received.items.map((d) => d.data)).toEqual(['after']);
    expect(node.proc.exitCode, node.output()).toBeNull();
    await client.disconnect();
  });

  it('answers 503, never a silent 202, while Redis is down', async () => {
    const redisServer = await startRedis();
    const prefix = uniquePrefix('down');
    const node = await startNode({ redisUrl: redisServer.url, prefix });
    const token = 'stranded';
    const client = new DeliveryClient({ token, v2: true });
    await client.connect(node.url);
    await sessionWhere(node.url, token, (s) => s.connections.length === 1);
    const before = await pushAccepted(node.url, { token, data: 'before' });
    await client.received.waitFor((d) => d.id === before);
    await waitUntil(
      async () => ((await messageStatus(node.url, before)).body as MessageStatusBody).status === 'delivered',
      { message: 'the first push is delivered' },
    );

    await redisServer.stop();
    // at once, before anything had time to notice
    const first = await pushViaApi(node.url, { token, data: 'during' });
    expectError(first, 503, 'unavailable');
    await waitUntil(async () => (await api(node.url, '/readyz')).status === 503, {
      message: '/readyz turns 503',
    });
    for (let i = 0; i < 5; i++) {
      expectError(await pushViaApi(node.url, { token, data: { during: i } }), 503, 'unavailable');
      expectError(await messageStatus(node.url, before), 503, 'unavailable');
    }
    // nothing reached the client on the side
    expect(client.received.items.map((d) => d.data)).toEqual(['before']);
    expect(node.proc.exitCode, node.output()).toBeNull();
  });
});
