// End-to-end tests of the SDK's protocol v3 against a real io-session node (in process, shared Redis): frames,
// flow control, partial acks, duplicates across reconnects, broadcasts; and protocol: 2 still working.
import { connect, type ClientError, type ConnectOptions, type SessionClient } from '@io-session/client';
import type { SessionHandlerOptions } from '@io-session/server';
import { io as rawClient, type Socket as RawSocket } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { Recorder } from '../helpers/clients.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { startInProcessNode, type InProcessNode } from '../helpers/in-process-node.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { dropPrefixAfterwards, SHARED_REDIS_URL } from '../helpers/redis-client.js';
import { waitUntil } from '../helpers/wait.js';

async function node(
  label: string,
  options: Omit<SessionHandlerOptions, 'redis' | 'prefix'> = {},
): Promise<InProcessNode> {
  const prefix = uniquePrefix(label);
  dropPrefixAfterwards(prefix);
  return startInProcessNode({ consumePushQueue: false, ...options, redis: SHARED_REDIS_URL, prefix });
}

function sdk(url: string, options: ConnectOptions) {
  const client = connect(url, {
    transports: ['websocket'],
    reconnectDelayMinMs: 50,
    reconnectDelayMaxMs: 200,
    ...options,
  });
  deferCleanup(() => client.close());
  const connected = new Recorder<string>();
  const errors = new Recorder<ClientError>();
  client.on('connected', ({ socketId }) => connected.push(socketId));
  client.on('error', (e) => errors.push(e));
  return { client, connected, errors };
}

async function push(n: InProcessNode, token: string, data: unknown): Promise<string> {
  const result = await n.handler.push({ token, data });
  if (!result.stored) throw new Error(`push to ${token} was not stored: ${result.reason}`);
  return result.id;
}

const statusOf = (n: InProcessNode, id: string) => n.handler.store.messages.status(id).then((i) => i?.status);

function serverSocket(n: InProcessNode, client: SessionClient) {
  const socket = n.io.of('/').sockets.get(client.socketId ?? '');
  if (!socket) throw new Error(`no server socket ${client.socketId}`);
  return socket;
}

/** A raw v3 connection that records every frame and acks only when told to. */
async function rawV3(url: string, token: string) {
  const socket: RawSocket = rawClient(url, {
    auth: { token, v: 3 },
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
  });
  deferCleanup(() => socket.close());
  const frames = new Recorder<{ ids: string[]; ack: ((reply?: unknown) => void) | undefined }>();
  socket.on('push_batch', (messages: { id: string }[], ack?: (reply?: unknown) => void) =>
    frames.push({ ids: messages.map((m) => m.id), ack }),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return { socket, frames };
}

describe('protocol v3 end to end (the SDK against a node)', () => {
  it('the SDK connects with v: 3 by default; pushes are handled in order and settled', async () => {
    const n = await node('v3basic');
    const o = sdk(n.url, { token: 'v3-ann' });
    const seen: string[] = [];
    o.client.onPush((_data, { id }) => {
      seen.push(id);
    });
    await o.connected.waitFor();
    expect(serverSocket(n, o.client).handshake.auth).toMatchObject({ v: 3 });
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(await push(n, 'v3-ann', i));
    for (const id of ids) await waitUntil(async () => (await statusOf(n, id)) === 'delivered');
    expect(seen).toEqual(ids);
    expect(o.errors.items).toEqual([]);
  });

  it('the node keeps one unacknowledged frame per connection; what arrives meanwhile comes in the next frame', async () => {
    const n = await node('v3flow');
    const c = await rawV3(n.url, 'v3-ben');
    const first = await push(n, 'v3-ben', 'first');
    const f1 = await c.frames.waitFor();
    expect(f1.ids).toEqual([first]);
    const later = [await push(n, 'v3-ben', 'a'), await push(n, 'v3-ben', 'b'), await push(n, 'v3-ben', 'c')];
    await waitUntil(async () =>
      (await Promise.all(later.map((id) => statusOf(n, id)))).every((s) => s === 'pending'),
    );
    expect(c.frames.items).toHaveLength(1); // nothing more while the first frame is unacknowledged
    f1.ack!();
    const f2 = await c.frames.waitFor((f) => f !== f1);
    expect(f2.ids).toEqual(later);
    f2.ack!({ ids: [later[0], later[2]] });
    await waitUntil(async () => (await statusOf(n, later[2]!)) === 'delivered');
    expect(await statusOf(n, first)).toBe('delivered');
    expect(await statusOf(n, later[0]!)).toBe('delivered');
    expect(await statusOf(n, later[1]!)).toBe('pending'); // left out of the ack: pending until the next connection
  });

  it('a throwing handler: the rest of the frame is settled, the message left out comes again after a reconnect', async () => {
    const n = await node('v3throw');
    const o = sdk(n.url, { token: 'v3-cat' });
    const calls: string[] = [];
    let fail = true;
    o.client.onPush((data, { id }) => {
      calls.push(id);
      if (data === 'bad' && fail) throw new Error('not yet');
    });
    const first = await o.connected.waitFor();
    const ids = [
      await push(n, 'v3-cat', 'ok-1'),
      await push(n, 'v3-cat', 'bad'),
      await push(n, 'v3-cat', 'ok-2'),
    ];
    await o.errors.waitFor((e) => e.code === 'handler_error');
    await waitUntil(async () => (await statusOf(n, ids[2]!)) === 'delivered');
    expect(await statusOf(n, ids[0]!)).toBe('delivered');
    expect(await statusOf(n, ids[1]!)).toBe('pending');
    fail = false;
    serverSocket(n, o.client).disconnect(true);
    await o.connected.waitFor((id) => id !== first);
    await waitUntil(async () => (await statusOf(n, ids[1]!)) === 'delivered');
    expect(calls.filter((id) => id === ids[1])).toHaveLength(2);
  });

  it('frames sent again after a reconnect are acknowledged without calling the handler twice', async () => {
    const n = await node('v3dupes');
    const o = sdk(n.url, { token: 'v3-dan', reconnectDelayMinMs: 300, reconnectDelayMaxMs: 300, jitter: 0 });
    const calls: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const started = new Recorder<string>();
    o.client.onPush(async (_data, { id }) => {
      calls.push(id);
      started.push(id);
      await gate;
    });
    const first = await o.connected.waitFor();
    const ids = [await push(n, 'v3-dan', 1), await push(n, 'v3-dan', 2), await push(n, 'v3-dan', 3)];
    await started.waitFor((id) => id === ids[0]);
    serverSocket(n, o.client).conn.close();
    release();
    await o.connected.waitFor((id) => id !== first);
    for (const id of ids) await waitUntil(async () => (await statusOf(n, id)) === 'delivered');
    expect(calls).toEqual(ids);
    expect(o.errors.items).toEqual([]);
  });

  it('a broadcast reaches a v3 client as a frame without callback: handled, never acknowledged', async () => {
    const n = await node('v3broadcast');
    const o = sdk(n.url, { token: 'v3-eve' });
    const seen = new Recorder<{ id: string; broadcast: boolean }>();
    o.client.onPush((_data, { id, broadcast }) => seen.push({ id, broadcast }));
    await o.connected.waitFor();
    n.handler.broadcastMessage({ all: true });
    const b = await seen.waitFor((m) => m.broadcast);
    expect(b.id).toMatch(/^b\./);
    const id = await push(n, 'v3-eve', 'stored');
    await waitUntil(async () => (await statusOf(n, id)) === 'delivered');
    expect(o.errors.items).toEqual([]); // no session_error for an ack of the broadcast
  });

  it('protocol: 2 still gets one push_message per push and settles each', async () => {
    const n = await node('v2still');
    const o = sdk(n.url, { token: 'v2-fay', protocol: 2 });
    const seen: string[] = [];
    o.client.onPush((_d, { id }) => {
      seen.push(id);
    });
    await o.connected.waitFor();
    expect(serverSocket(n, o.client).handshake.auth).toMatchObject({ v: 2 });
    const ids = [await push(n, 'v2-fay', 1), await push(n, 'v2-fay', 2)];
    for (const id of ids) await waitUntil(async () => (await statusOf(n, id)) === 'delivered');
    expect(seen).toEqual(ids);
  });
});
