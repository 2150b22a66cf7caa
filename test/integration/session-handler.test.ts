import seed, { from, PushRejectedError } from '@io-session/server';
import type { Socket } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { connectClient, nextEvent, Recorder } from '../helpers/clients.js';
import {
  startInProcessNode,
  type ConnectionEventRecord,
  type InProcessNode,
} from '../helpers/in-process-node.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { dropPrefixAfterwards, SHARED_REDIS_URL } from '../helpers/redis-client.js';
import { waitUntil } from '../helpers/wait.js';

const GRACE_MS = 800;

async function twoNodes(label: string): Promise<[InProcessNode, InProcessNode]> {
  const prefix = uniquePrefix(label);
  dropPrefixAfterwards(prefix);
  const options = { redis: SHARED_REDIS_URL, prefix, timeout: GRACE_MS, consumePushQueue: false };
  return Promise.all([startInProcessNode(options), startInProcessNode(options)]);
}

async function disconnected(socket: Socket): Promise<void> {
  const gone = nextEvent(socket, 'disconnect');
  socket.disconnect();
  await gone;
}

/** Every connection event both nodes saw for a token, merged. */
function eventsOf(nodes: InProcessNode[], token: string, status?: 0 | 1): ConnectionEventRecord[] {
  return nodes.flatMap((n) =>
    n.events.filter((e) => e.token === token && (status === undefined || e.status === status)),
  );
}

/** Waits for the first status event of `token` on any of the nodes. */
function anyEvent(
  nodes: InProcessNode[],
  token: string,
  status: 0 | 1,
  timeout = 10_000,
): Promise<ConnectionEventRecord> {
  return Promise.any(
    nodes.map((n) => n.events.waitFor((e) => e.token === token && e.status === status, timeout)),
  );
}

/** Starts and drops a throwaway session and waits for its end: afterwards every earlier deadline has passed and been swept. */
async function witnessEnd(nodes: InProcessNode[], via: InProcessNode): Promise<void> {
  const token = `witness-${Math.random().toString(36).slice(2)}`;
  const socket = await connectClient(via.url, { token });
  await anyEvent(nodes, token, 1);
  await disconnected(socket);
  await anyEvent(nodes, token, 0, GRACE_MS + 5000);
}

describe('from(io) in-process, two handlers on one Redis', () => {
  it('exports the seed-compatible from(), also on the default export', () => {
    expect(typeof from).toBe('function');
    expect(seed.from).toBe(from);
  });

  it('starts a session once, shows it cluster-wide, keeps it across a move within the grace, ends it once', async () => {
    const [a, b] = await twoNodes('move');
    const token = 'mover';
    const first = await connectClient(a.url, { token });
    const firstId = first.id!;
    const started = await anyEvent([a, b], token, 1);
    expect(started).toEqual({ id: firstId, token, status: 1 });

    expect(a.handler.sessions).toEqual([{ token, connections: [firstId], data: null }]);
    expect(b.handler.sessions).toEqual([]);
    const fromB = await b.handler.getSession(token);
    expect(fromB).toMatchObject({
      token,
      status: 'connected',
      connections: [{ id: firstId, nodeId: a.handler.nodeId }],
    });
    const sid = fromB!.sid;

    await disconnected(first);
    await waitUntil(async () => (await b.handler.getSession(token))?.status === 'grace');
    const second = await connectClient(b.url, { token, v: 2 });
    const secondId = second.id!;
    await waitUntil(async () => (await a.handler.getSession(token))?.status === 'connected');
    expect(await a.handler.getSession(token)).toMatchObject({
      sid,
      connections: [{ id: secondId, nodeId: b.handler.nodeId }],
    });
    await witnessEnd([a, b], a);
    expect(await a.handler.getSession(token)).toMatchObject({ sid, status: 'connected' });
    expect(eventsOf([a, b], token, 0)).toEqual([]);
    expect(b.handler.sessions).toEqual([{ token, connections: [secondId], data: null }]);
    expect(a.handler.sessions).toEqual([]);

    const droppedAt = Date.now();
    await disconnected(second);
    const ended = await anyEvent([a, b], token, 0, GRACE_MS + 5000);
    expect(Date.now() - droppedAt).toBeGreaterThanOrEqual(GRACE_MS - 50);
    expect(ended).toEqual({ id: secondId, token, status: 0 });
    await witnessEnd([a, b], b);
    expect(eventsOf([a, b], token)).toEqual([started, ended]);
    expect(await a.handler.getSession(token)).toBeNull();
    expect(b.handler.sessions).toEqual([]);
  });

  it('ends a session whose grace ran out while no node was running, once, on the next node that starts', async () => {
    const prefix = uniquePrefix('nobody');
    dropPrefixAfterwards(prefix);
    const options = { redis: SHARED_REDIS_URL, prefix, timeout: 300, consumePushQueue: false };
    const a = await startInProcessNode(options);
    const client = await connectClient(a.url, { token: 'orphan' });
    await a.events.waitFor((e) => e.token === 'orphan' && e.status === 1);
    await disconnected(client);
    const graceUntil = await waitUntil(async () => (await a.handler.getSession('orphan'))?.graceUntil);
    await a.close();
    expect(a.events.filter((e) => e.status === 0)).toEqual([]);
    // wait on the clock (nothing runs that could end it): the deadline must pass with no node alive
    await waitUntil(() => Date.now() > graceUntil + 100, { timeout: 5000 });

    const [b, c] = await Promise.all([startInProcessNode(options), startInProcessNode(options)]);
    const ended = await anyEvent([b, c], 'orphan', 0);
    expect(ended).toMatchObject({ token: 'orphan', status: 0 });
    await witnessEnd([b, c], c);
    expect(eventsOf([b, c], 'orphan')).toEqual([ended]);
    expect(await b.handler.getSession('orphan')).toBeNull();
  });

  it('stores client_data from its own connection, and onClientData fires on the node that received it', async () => {
    const [a, b] = await twoNodes('data');
    const received = new Recorder<{ token: string; data: unknown }>();
    a.handler.onClientData((e) => received.push(e));
    const other = new Recorder<{ token: string; data: unknown }>();
    b.handler.onClientData((e) => other.push(e));

    const client = await connectClient(a.url, { token: 'writer' });
    await anyEvent([a, b], 'writer', 1);
    client.emit('client_data', JSON.stringify({ token: 'writer', data: { theme: 'dark' } }));
    expect(await received.waitFor()).toEqual({ token: 'writer', data: { theme: 'dark' } });
    expect((await b.handler.getSession('writer'))!.data).toEqual({ theme: 'dark' });
    expect(a.handler.sessions[0]!.data).toEqual({ theme: 'dark' });

    client.emit('client_data', { token: 'writer', data: [1, 2, 3] });
    expect(await received.waitFor((e) => Array.isArray(e.data))).toEqual({
      token: 'writer',
      data: [1, 2, 3],
    });
    expect((await b.handler.getSession('writer'))!.data).toEqual([1, 2, 3]);
    expect(other.items).toEqual([]);
  });

  it('logs a session out from any node: every connection gets logout, one status 0, and it is gone', async () => {
    const [a, b] = await twoNodes('logout');
    const onA = await connectClient(a.url, { token: 'leaver' });
    const onB = await connectClient(b.url, { token: 'leaver', auth: true });
    await waitUntil(async () => (await a.handler.getSession('leaver'))?.connections.length === 2);
    const logouts = Promise.all([nextEvent(onA, 'logout'), nextEvent(onB, 'logout')]);
    expect(await b.handler.logout('leaver')).toBe(true);
    await logouts;
    const ended = await anyEvent([a, b], 'leaver', 0);
    expect(ended).toMatchObject({ token: 'leaver', status: 0 });
    expect(await a.handler.getSession('leaver')).toBeNull();
    expect(await a.handler.logout('leaver')).toBe(false);
    await witnessEnd([a, b], a);
    expect(eventsOf([a, b], 'leaver', 0)).toHaveLength(1);
    expect(eventsOf([a, b], 'leaver', 1)).toHaveLength(1);
  });

  it('pushes to a session on another node and refuses a push to a session that does not exist', async () => {
    const [a, b] = await twoNodes('push');
    const legacy = await connectClient(a.url, { token: 'reader' });
    await anyEvent([a, b], 'reader', 1);
    const got = nextEvent(legacy, 'push_message');
    expect(await b.handler.pushMessage('reader', { text: 'hello' })).toBe(true);
    expect(await got).toEqual([{ text: 'hello' }]);
    expect(await b.handler.pushMessage('nobody-here', { text: 'lost' })).toBe(false);
  });

  it('refuses a push or broadcast that breaks a limit with PushRejectedError, before touching Redis', async () => {
    const prefix = uniquePrefix('limits');
    dropPrefixAfterwards(prefix);
    const node = await startInProcessNode({
      redis: SHARED_REDIS_URL,
      prefix,
      consumePushQueue: false,
      maxPayloadBytes: 1024,
    });
    const legacy = await connectClient(node.url, { token: 'careful' });
    await node.events.waitFor((e) => e.token === 'careful' && e.status === 1);
    const received = new Recorder<unknown>();
    legacy.on('push_message', (data: unknown) => received.push(data));
    let deep: unknown = 0;
    for (let i = 0; i < 4125; i++) deep = [deep];
    const refusals: [Promise<unknown>, Partial<PushRejectedError>][] = [
      [node.handler.pushMessage('careful', deep), { reason: 'too_deep', field: 'data' }],
      [node.handler.pushMessage('careful', 'x'.repeat(2000)), { reason: 'too_large', field: 'data' }],
      [node.handler.push({ token: 'careful', data: 1, ttlMs: 1e300 }), { reason: 'invalid', field: 'ttlMs' }],
      [node.handler.push({ token: '', data: 1 }), { reason: 'invalid', field: 'token' }],
      [
        node.handler.pushMany([
          { token: 'careful', data: 'fine' },
          { token: 'careful', data: { deep } },
        ]),
        { reason: 'too_deep', field: 'messages[1].data' },
      ],
    ];
    for (const [refused, expected] of refusals) {
      const err = await refused.then(
        () => new Error('accepted'),
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(PushRejectedError);
      expect(err).toMatchObject(expected);
    }
    expect(() => node.handler.broadcastMessage(deep)).toThrow(PushRejectedError);
    expect(() => node.handler.broadcastMessage('b'.repeat(2000))).toThrow(/^data: larger than 1024 bytes/);
    // nothing was stored or sent; what fits still goes through
    expect((await node.handler.store.messages.stats()).pushed).toBe(0);
    expect(await node.handler.pushMessage('careful', 'fits')).toBe(true);
    await received.waitFor((d) => d === 'fits');
    expect(received.items).toEqual(['fits']);
  });

  it('pages through the sessions of every node with getSessions', async () => {
    const [a, b] = await twoNodes('pages');
    const tokens = Array.from({ length: 25 }, (_, i) => `p${i}`);
    await Promise.all(tokens.map((token, i) => connectClient(i % 2 ? a.url : b.url, { token })));
    await waitUntil(async () => (await a.handler.store.reads.countSessions()) === tokens.length);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof a.handler.getSessions>> = await b.handler.getSessions({
        cursor,
        limit: 4,
      });
      expect(page.sessions.length).toBeLessThanOrEqual(4);
      seen.push(...page.sessions.map((s) => s.token));
      cursor = page.next;
    } while (cursor);
    expect(seen.sort()).toEqual([...tokens].sort());
    expect(a.handler.sessions.length + b.handler.sessions.length).toBe(tokens.length);
  });
});
