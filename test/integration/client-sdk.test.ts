import { connect, type ClientError, type ConnectOptions, type SessionClient } from '@io-session/client';
import { freePort } from '@io-session/devtools';
import { signToken, type SessionHandlerOptions } from '@io-session/server';
import { describe, expect, it } from 'vitest';
import { startWebNode } from '../browser/fixtures/web-node.js';
import { Recorder } from '../helpers/clients.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { startInProcessNode, type InProcessNode } from '../helpers/in-process-node.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { dropPrefixAfterwards, SHARED_REDIS_URL } from '../helpers/redis-client.js';
import { waitUntil } from '../helpers/wait.js';

const JWT_SECRET = 'client-sdk-test-secret-0123456789abcdef';

async function node(
  label: string,
  options: Omit<SessionHandlerOptions, 'redis' | 'prefix'> = {},
): Promise<InProcessNode> {
  const prefix = uniquePrefix(label);
  dropPrefixAfterwards(prefix);
  return startInProcessNode({ consumePushQueue: false, ...options, redis: SHARED_REDIS_URL, prefix });
}

/** Everything an SDK client emits, recorded; the client is closed after the test. */
interface Observed {
  client: SessionClient;
  events: Recorder<{ event: string; payload: unknown }>;
  errors: Recorder<ClientError>;
}

function sdk(url: string, options: ConnectOptions): Observed {
  const client = connect(url, {
    transports: ['websocket'],
    reconnectDelayMinMs: 50,
    reconnectDelayMaxMs: 200,
    ...options,
  });
  deferCleanup(() => client.close());
  const events = new Recorder<{ event: string; payload: unknown }>();
  const errors = new Recorder<ClientError>();
  for (const event of ['connected', 'disconnected', 'reconnecting', 'logout'] as const) {
    client.on(event, (payload) => events.push({ event, payload }));
  }
  client.on('error', (error) => errors.push(error));
  return { client, events, errors };
}

/** Resolves on the client's `n`-th `connected` event. */
function connectedTimes(o: Observed, n: number): Promise<unknown> {
  return o.events.waitForCount((e) => e.event === 'connected', n);
}

async function push(n: InProcessNode, token: string, data: unknown): Promise<string> {
  const result = await n.handler.push({ token, data });
  if (!result.stored) throw new Error(`push to ${token} was not stored: ${result.reason}`);
  return result.id;
}

function statusOf(n: InProcessNode, id: string): Promise<string | undefined> {
  return n.handler.store.messages.status(id).then((info) => info?.status);
}

/** The server side of the client's current connection. */
function serverSocket(n: InProcessNode, client: SessionClient) {
  const socket = n.io.of('/').sockets.get(client.socketId ?? '');
  if (!socket) throw new Error(`no server socket ${client.socketId}`);
  return socket;
}

describe('@io-session/client in Node', () => {
  it('receives a push, acknowledges it once the handler resolves, and stores setData', async () => {
    const n = await node('sdkbasic');
    const o = sdk(n.url, { token: 'alice' });
    const received = new Recorder<{ data: unknown; id: string; broadcast: boolean }>();
    o.client.onPush(async (data, meta) => {
      received.push({ data, id: meta.id, broadcast: meta.broadcast });
    });
    await connectedTimes(o, 1);
    expect(o.client.state).toBe('connected');

    const id = await push(n, 'alice', { text: 'hello' });
    await received.waitFor((m) => m.id === id);
    expect(received.items[0]).toEqual({ data: { text: 'hello' }, id, broadcast: false });
    await waitUntil(async () => (await statusOf(n, id)) === 'delivered');

    o.client.setData({ page: '/inbox' });
    await waitUntil(async () => (await n.handler.getSession('alice'))?.data, {
      message: 'client_data stored',
    });
    expect((await n.handler.getSession('alice'))?.data).toEqual({ page: '/inbox' });

    n.handler.broadcastMessage({ all: true });
    const broadcast = await received.waitFor((m) => m.broadcast);
    expect(broadcast.data).toEqual({ all: true });
    expect(o.errors.items).toEqual([]);
  });

  it('drops duplicates across a forced reconnect: the handler sees each id once, the server settles all', async () => {
    const n = await node('sdkdupes');
    const o = sdk(n.url, { token: 'bob', reconnectDelayMinMs: 300, reconnectDelayMaxMs: 300, jitter: 0 });
    const calls: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const started = new Recorder<string>();
    o.client.onPush(async (_data, { id }) => {
      calls.push(id);
      started.push(id);
      await gate; // the first message is still being handled when the connection drops
    });
    await connectedTimes(o, 1);
    const ids = [await push(n, 'bob', 1), await push(n, 'bob', 2), await push(n, 'bob', 3)];
    await started.waitFor((id) => id === ids[0]);

    // The connection drops (transport closed under the client) while the handler works; it finishes while
    // the client is disconnected, so its acknowledgement cannot be sent: all three come again.
    const dropped = o.events.waitFor((e) => e.event === 'disconnected');
    serverSocket(n, o.client).conn.close();
    expect(await dropped).toMatchObject({ payload: { willReconnect: true } });
    release();
    await connectedTimes(o, 2);

    for (const id of ids) await waitUntil(async () => (await statusOf(n, id)) === 'delivered');
    expect(calls).toEqual(ids);
    expect(o.errors.items).toEqual([]);
  });

  it('a throwing handler leaves the message pending; it comes again after reconnecting', async () => {
    const n = await node('sdkthrow');
    const o = sdk(n.url, { token: 'carol' });
    const attempts = new Recorder<string>();
    o.client.onPush((data, { id }) => {
      attempts.push(id);
      if (attempts.filter((a) => a === id).length === 1) throw new Error(`cannot handle ${String(data)} yet`);
    });
    await connectedTimes(o, 1);
    const id = await push(n, 'carol', 'retry me');
    const failure = await o.errors.waitFor((e) => e.code === 'handler_error');
    expect(failure).toMatchObject({ id, source: 'client' });
    expect(await statusOf(n, id)).toBe('pending');

    serverSocket(n, o.client).disconnect(true); // the server drops it (as a draining node does)
    await connectedTimes(o, 2);
    await attempts.waitForCount((a) => a === id, 2);
    await waitUntil(async () => (await statusOf(n, id)) === 'delivered');
  });

  it('logout arrives and the client stops reconnecting', async () => {
    const n = await node('sdklogout');
    const o = sdk(n.url, { token: 'dave', reconnectDelayMinMs: 20, reconnectDelayMaxMs: 40 });
    await connectedTimes(o, 1);
    expect(await n.handler.logout('dave')).toBe(true);

    await o.events.waitFor((e) => e.event === 'logout');
    const gone = await o.events.waitFor((e) => e.event === 'disconnected');
    expect(gone.payload).toMatchObject({ willReconnect: false });
    expect(o.client.state).toBe('logged_out');
    await n.events.waitFor((e) => e.token === 'dave' && e.status === 0);

    // Absence can only be shown over a window: 10 times the longest reconnect delay, and no new session.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(n.events.filter((e) => e.token === 'dave' && e.status === 1)).toHaveLength(1);
    expect(o.events.filter((e) => e.event === 'reconnecting')).toEqual([]);
    expect(await n.handler.getSession('dave')).toBeNull();
  });

  it('a bad JWT surfaces as an error event with code invalid_token, and a fixed token is not retried', async () => {
    const n = await node('sdkjwt', { auth: { mode: 'jwt', secret: JWT_SECRET } });
    const forged = await signToken('erin', 'another-secret-of-at-least-32-chars!!');
    const o = sdk(n.url, { token: forged });
    const error = await o.errors.waitFor((e) => e.code === 'invalid_token');
    expect(error).toMatchObject({ code: 'invalid_token', source: 'connect_error' });
    expect(o.client.state).toBe('disconnected');
    expect(o.events.filter((e) => e.event === 'connected')).toEqual([]);
  });

  it('getToken is called before every connect: a refreshed JWT gets in, and setData uses its sub', async () => {
    const n = await node('sdkrefresh', { auth: { mode: 'jwt', secret: JWT_SECRET } });
    const issued: string[] = [];
    const o = sdk(n.url, {
      getToken: async () => {
        // The first credential has expired; the next ones are fresh.
        const jwt = await signToken('frank', JWT_SECRET, issued.length === 0 ? '-10s' : '1h');
        issued.push(jwt);
        return jwt;
      },
    });
    await o.errors.waitFor((e) => e.code === 'invalid_token');
    await connectedTimes(o, 1);
    expect(issued.length).toBe(2);
    expect(o.client.token).toBe('frank');

    o.client.setData({ signedIn: true });
    await waitUntil(async () => (await n.handler.getSession('frank'))?.data);
    expect((await n.handler.getSession('frank'))?.data).toEqual({ signedIn: true });

    o.client.reconnect();
    await connectedTimes(o, 2);
    expect(issued.length).toBe(3);
  });

  it('retries with exponential backoff and jitter until a node answers', async () => {
    const port = await freePort();
    const o = sdk(`http://127.0.0.1:${port}`, {
      token: 'gina',
      reconnectDelayMinMs: 20,
      reconnectDelayMaxMs: 160,
      jitter: 0.5,
    });
    const delays = (await o.events.waitForCount((e) => e.event === 'reconnecting', 6)).map(
      (e) => (e.payload as { delayMs: number }).delayMs,
    );
    // Attempt n waits between d(1 - jitter) and d, where d = min(max, min * 2^n).
    delays.forEach((delay, n) => {
      const d = Math.min(160, 20 * 2 ** n);
      expect(delay).toBeGreaterThanOrEqual(d / 2);
      expect(delay).toBeLessThanOrEqual(d);
    });
    expect(o.errors.items[0]).toMatchObject({ code: 'connect_failed', source: 'connect_error' });

    const prefix = uniquePrefix('sdkretry');
    dropPrefixAfterwards(prefix);
    const late = await startWebNode({ prefix, port });
    await connectedTimes(o, 1);
    expect(await late.handler.getSession('gina')).toMatchObject({ token: 'gina', status: 'connected' });
  });

  it('refuses options that cannot work, naming the option', () => {
    expect(() => connect('http://127.0.0.1:1', {})).toThrow(/exactly one of the options token and getToken/);
    expect(() =>
      connect('http://127.0.0.1:1', { token: 't', reconnectDelayMinMs: 500, reconnectDelayMaxMs: 100 }),
    ).toThrow(/reconnectDelayMaxMs/);
    expect(() => connect('http://127.0.0.1:1', { token: 't', jitter: 2 })).toThrow(/jitter/);
  });
});
