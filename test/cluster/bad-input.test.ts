import type { Socket } from 'socket.io-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { api, collect, connectClient, nextEvent, type Recorder } from '../helpers/clients.js';
import { startNode, TEST_API_KEY, type NodeProcess } from '../helpers/node-process.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { dropPrefixAfterwards, SHARED_REDIS_URL } from '../helpers/redis-client.js';
import { sessionWhere, type ApiSession } from '../helpers/sessions-api.js';
import { waitUntil } from '../helpers/wait.js';

const MAX_PAYLOAD_BYTES = 1024;
const RATE_LIMIT_PER_SEC = 50;
const VICTIM = 'victim';
const ATTACKER = 'attacker';
const VICTIM_DATA = { secret: 'victim-data' };
const PUSHED = { note: 'for the victim only' };

interface SessionError {
  code: string;
  message: string;
}

function nested(levels: number): unknown {
  let value: unknown = 0;
  for (let i = 0; i < levels; i++) value = [value];
  return value;
}

type Case = [
  what: string,
  event: 'client_data' | 'push_message_delivery',
  payload: () => unknown[],
  codes: string[],
];

describe('bad input from a client', () => {
  let node: NodeProcess;
  let victim: Socket;
  let attacker: Socket;
  let attackerErrors: Recorder<unknown[]>;
  let victimErrors: Recorder<unknown[]>;
  let attackerDrops: Recorder<unknown[]>;
  let victimBefore: ApiSession;
  let messageId: string;

  beforeAll(async () => {
    const prefix = uniquePrefix('bad');
    dropPrefixAfterwards(prefix);
    node = await startNode({
      redisUrl: SHARED_REDIS_URL,
      prefix,
      env: { MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD_BYTES), RATE_LIMIT_PER_SEC: String(RATE_LIMIT_PER_SEC) },
    });
    victim = await connectClient(node.url, { token: VICTIM });
    victimErrors = collect(victim, 'session_error');
    victim.emit('client_data', JSON.stringify({ token: VICTIM, data: VICTIM_DATA }));
    await sessionWhere(node.url, VICTIM, (s) => JSON.stringify(s.data) === JSON.stringify(VICTIM_DATA));

    const delivered = nextEvent(victim, 'push_message');
    const push = await api<{ id: string; accepted: boolean }>(node.url, '/v1/push', {
      method: 'POST',
      apiKey: TEST_API_KEY,
      body: { token: VICTIM, data: PUSHED },
    });
    expect(push.status).toBe(202);
    messageId = push.body.id;
    expect(await delivered).toEqual([PUSHED]); // a legacy client gets the data as it was pushed

    attacker = await connectClient(node.url, { token: ATTACKER });
    attackerErrors = collect(attacker, 'session_error');
    attackerDrops = collect(attacker, 'disconnect');
    attacker.emit('client_data', { token: ATTACKER, data: 'mine' });
    await sessionWhere(node.url, ATTACKER, (s) => s.data === 'mine');
    victimBefore = await sessionWhere(node.url, VICTIM, () => true);
  });

  async function expectNothingChanged(): Promise<void> {
    const now = await sessionWhere(node.url, VICTIM, () => true);
    expect(now).toEqual(victimBefore);
    const message = await api<{ status: string }>(node.url, `/v1/messages/${encodeURIComponent(messageId)}`, {
      apiKey: TEST_API_KEY,
    });
    expect(message.status).toBe(200);
    expect(message.body.status).toBe('pending');
    expect(victimErrors.items).toEqual([]);
  }

  const big = 'x'.repeat(MAX_PAYLOAD_BYTES + 100);
  const cases: Case[] = [
    [
      'client_data: a string that is not JSON',
      'client_data',
      () => ['{"token": "attacker", data'],
      ['malformed'],
    ],
    ['client_data: JSON that is a string', 'client_data', () => ['"attacker"'], ['malformed']],
    ['client_data: JSON that is an array', 'client_data', () => ['[1,2,3]'], ['malformed']],
    ['client_data: a number', 'client_data', () => [42], ['malformed']],
    ['client_data: null', 'client_data', () => [null], ['malformed']],
    ['client_data: no argument', 'client_data', () => [], ['malformed']],
    ['client_data: an empty object', 'client_data', () => [{}], ['malformed']],
    ['client_data: a missing token', 'client_data', () => [{ data: 1 }], ['malformed']],
    ['client_data: a token of the wrong type', 'client_data', () => [{ token: 5, data: 1 }], ['malformed']],
    ['client_data: an empty token', 'client_data', () => [{ token: '', data: 1 }], ['malformed']],
    [
      'client_data: an oversized token',
      'client_data',
      () => [{ token: 'x'.repeat(300), data: 1 }],
      ['malformed'],
    ],
    [
      'client_data: the other session’s token',
      'client_data',
      () => [{ token: VICTIM, data: 'hacked' }],
      ['forbidden_token'],
    ],
    [
      'client_data: the other session’s token, as a JSON string',
      'client_data',
      () => [JSON.stringify({ token: VICTIM, data: { secret: 'hacked' } })],
      ['forbidden_token'],
    ],
    [
      'client_data: a payload over MAX_PAYLOAD_BYTES',
      'client_data',
      () => [{ token: ATTACKER, data: big }],
      ['payload_too_large'],
    ],
    [
      'client_data: a JSON string over MAX_PAYLOAD_BYTES',
      'client_data',
      () => [JSON.stringify({ token: ATTACKER, data: big })],
      ['payload_too_large'],
    ],
    [
      'client_data: data nested 100 deep (over MAX_DEPTH, within MAX_PAYLOAD_BYTES)',
      'client_data',
      () => [{ token: ATTACKER, data: nested(100) }],
      ['malformed'],
    ],
    [
      'client_data: a JSON string nested 400 deep (what overflowed canonical JSON at 10,000)',
      'client_data',
      () => [`{"token":"${ATTACKER}","data":${'['.repeat(400)}${']'.repeat(400)}}`],
      ['malformed'],
    ],
    [
      'client_data: a JSON string nested 10,000 deep (over MAX_PAYLOAD_BYTES too)',
      'client_data',
      () => [`{"token":"${ATTACKER}","data":${'['.repeat(10_000)}${']'.repeat(10_000)}}`],
      ['payload_too_large'],
    ],
    [
      'push_message_delivery: data nested 100 deep',
      'push_message_delivery',
      () => [{ token: ATTACKER, data: nested(100) }],
      ['malformed'],
    ],
    ['push_message_delivery: not JSON', 'push_message_delivery', () => ['garbage{'], ['malformed']],
    ['push_message_delivery: a number', 'push_message_delivery', () => [7], ['malformed']],
    [
      'push_message_delivery: an id of the wrong type',
      'push_message_delivery',
      () => [{ id: 12 }],
      ['malformed'],
    ],
    [
      'push_message_delivery: data that was never pushed',
      'push_message_delivery',
      () => [JSON.stringify({ token: ATTACKER, data: { never: 'pushed' } })],
      ['unknown_message'],
    ],
    [
      'push_message_delivery: an unknown id',
      'push_message_delivery',
      () => [{ id: 'no-such-message' }],
      ['unknown_message'],
    ],
    [
      'push_message_delivery: the other session’s token and data',
      'push_message_delivery',
      () => [JSON.stringify({ token: VICTIM, data: PUSHED })],
      ['forbidden_token'],
    ],
    [
      'push_message_delivery: its own token with the other session’s data',
      'push_message_delivery',
      () => [{ token: ATTACKER, data: PUSHED }],
      ['unknown_message'],
    ],
    [
      'push_message_delivery: the id of the other session’s message',
      'push_message_delivery',
      () => [{ id: messageId }],
      ['unknown_message', 'forbidden_token'],
    ],
    [
      'push_message_delivery: that id with the other session’s token',
      'push_message_delivery',
      () => [{ id: messageId, token: VICTIM }],
      ['forbidden_token'],
    ],
    [
      'push_message_delivery: a payload over MAX_PAYLOAD_BYTES',
      'push_message_delivery',
      () => [{ token: ATTACKER, data: big }],
      ['payload_too_large'],
    ],
  ];

  it.each(cases)('%s → session_error %j, nothing else changes', async (_what, event, payload, codes) => {
    const seen = attackerErrors.items.length;
    const refused = attackerErrors.waitFor(
      (args) => attackerErrors.items.indexOf(args) >= seen,
      5000,
      'session_error',
    );
    attacker.emit(event, ...payload());
    const [error] = (await refused) as [SessionError];
    expect(codes).toContain(error.code);
    if (error.code === 'malformed' && _what.includes('nested'))
      expect(error.message).toBe('data: nested deeper than 64 levels (or circular)');
    expect(error.message).toEqual(expect.any(String));
    expect(error.message.length).toBeGreaterThan(0);
    expect(attackerErrors.items.length).toBe(seen + 1);
    await expectNothingChanged();
    expect(attacker.connected).toBe(true);
  });

  it('refuses a flood with rate_limited (one answer a second), and the connection keeps serving afterwards', async () => {
    const started = performance.now();
    const seen = attackerErrors.items.length;
    const flood = 4 * RATE_LIMIT_PER_SEC;
    for (let i = 0; i < flood; i++) attacker.emit('client_data', { token: ATTACKER, data: `flood-${i}` });
    const limited = await attackerErrors.waitForCount(
      (args) =>
        attackerErrors.items.indexOf(args) >= seen && (args[0] as SessionError).code === 'rate_limited',
      1,
      5000,
    );
    expect(limited.length).toBeGreaterThan(0);

    // it serves again once the rate allows: a new value gets stored
    let attempt = 0;
    await waitUntil(
      async () => {
        attempt += 1;
        const marker = `after-flood-${attempt}`;
        attacker.emit('client_data', { token: ATTACKER, data: marker });
        const s = await sessionWhere(node.url, ATTACKER, () => true);
        return s.data === marker;
      },
      { timeout: 5000, interval: 100, message: 'client_data accepted after the flood' },
    );
    // one more refused event, malformed: its answer comes after every answer to the flood (one ordered
    // connection). Sent until it is answered: while the limiter still refuses, it is dropped quietly.
    const isFence = (args: unknown[]): boolean =>
      attackerErrors.items.indexOf(args) >= seen && (args[0] as SessionError).code === 'malformed';
    await waitUntil(
      () => {
        if (attackerErrors.items.some(isFence)) return true;
        attacker.emit('client_data', 'fence{');
        return false;
      },
      { timeout: 5000, interval: 200, message: 'the fence error' },
    );
    const fence = attackerErrors.items.findIndex(isFence);
    const errors = attackerErrors.items.slice(seen, fence).map((args) => (args[0] as SessionError).code);
    expect(new Set(errors)).toEqual(new Set(['rate_limited']));
    // half the flood was refused (a burst of 2× the rate passes), but refusals cost at most one answer a second
    const seconds = (performance.now() - started) / 1000;
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(errors.length).toBeLessThanOrEqual(Math.ceil(seconds) + 1);
    await expectNothingChanged();
  });

  it('disconnects a socket that keeps flooding, with session_error rate_limited', async () => {
    const flooder = await connectClient(node.url, { token: 'flooder' });
    const errors = collect(flooder, 'session_error');
    const dropped = nextEvent(flooder, 'disconnect');
    // 2× the rate passes as a burst; more than 4× the rate refused within 10 s is a flood
    for (let i = 0; i < 8 * RATE_LIMIT_PER_SEC; i++)
      flooder.emit('client_data', { token: 'flooder', data: i });
    const [reason] = (await dropped) as [string];
    expect(reason).toBe('io server disconnect');
    const codes = errors.items.map((args) => (args[0] as SessionError).code);
    expect(new Set(codes)).toEqual(new Set(['rate_limited']));
    expect(codes.length).toBeLessThanOrEqual(3);
    await expectNothingChanged();
  });

  it('kept every connection and the node up, and still serves everyone', async () => {
    expect(attacker.connected).toBe(true);
    expect(victim.connected).toBe(true);
    expect(attackerDrops.items).toEqual([]);
    expect(node.proc.exitCode).toBeNull();
    expect((await api(node.url, '/readyz')).status).toBe(200);
    const newcomer = await connectClient(node.url, { token: 'newcomer' });
    newcomer.emit('client_data', JSON.stringify({ token: 'newcomer', data: { ok: true } }));
    await sessionWhere(node.url, 'newcomer', (s) => JSON.stringify(s.data) === '{"ok":true}');
    // the victim's own events still work
    victim.emit('push_message_delivery', JSON.stringify({ token: VICTIM, data: PUSHED }));
    await waitUntil(async () => {
      const m = await api<{ status: string }>(node.url, `/v1/messages/${encodeURIComponent(messageId)}`, {
        apiKey: TEST_API_KEY,
      });
      return m.body.status === 'delivered';
    });
    expect(victimErrors.items).toEqual([]);
  });
});
