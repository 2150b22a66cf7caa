import { connect, type ClientError, type ConnectOptions, type SessionClient } from '@io-session/client';
import { describe, expect, it } from 'vitest';
import { Recorder } from '../helpers/clients.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { startProtocolServer, type ProtocolServer } from '../helpers/protocol-server.js';

/**
 * The SDK's wire protocol against a small Socket.IO server in this process that speaks protocol v3 (and v2)
 * as the spec says (test/helpers/protocol-server.ts): what goes over the wire is counted at that server.
 */
interface Observed {
  client: SessionClient;
  connected: Recorder<string>;
  disconnected: Recorder<string>;
  errors: Recorder<ClientError>;
}

function sdk(url: string, options: ConnectOptions): Observed {
  const client = connect(url, {
    transports: ['websocket'],
    reconnectDelayMinMs: 50,
    reconnectDelayMaxMs: 50,
    jitter: 0,
    ...options,
  });
  deferCleanup(() => client.close());
  const o: Observed = {
    client,
    connected: new Recorder<string>(),
    disconnected: new Recorder<string>(),
    errors: new Recorder<ClientError>(),
  };
  client.on('connected', ({ socketId }) => o.connected.push(socketId));
  client.on('disconnected', ({ reason }) => o.disconnected.push(reason));
  client.on('error', (error) => o.errors.push(error));
  return o;
}

/** A handler that records each call and waits for `gate` on the first one. */
function gated(): { calls: string[]; started: Recorder<string>; release: () => void; gate: Promise<void> } {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  return { calls: [], started: new Recorder<string>(), release, gate };
}

const frameAcks = (server: ProtocolServer, socketId: string) =>
  server.acks.filter((a) => a.socketId === socketId);

describe('@io-session/client speaks protocol v3 (the default)', () => {
  it('handles a frame of several messages in order and acknowledges it once, with ack()', async () => {
    const server = await startProtocolServer();
    const ids = [server.push('ann', 1), server.push('ann', 2), server.push('ann', 3)];
    const o = sdk(server.url, { token: 'ann' });
    const seen: { id: string; data: unknown; broadcast: boolean }[] = [];
    o.client.onPush((data, { id, broadcast }) => {
      seen.push({ id, data, broadcast });
    });
    const socketId = await o.connected.waitFor();
    expect(server.handshakes.items).toEqual([{ token: 'ann', v: 3 }]);
    const ack = await server.acks.waitFor();
    expect(server.frames.items).toMatchObject([{ event: 'push_batch', ids }]);
    expect(ack).toEqual({ token: 'ann', socketId, frame: ids, reply: undefined });
    expect(seen).toEqual(ids.map((id, i) => ({ id, data: i + 1, broadcast: false })));
    expect(server.pending('ann')).toEqual([]);
    expect(server.deliveries.items).toEqual([]);
    expect(o.errors.items).toEqual([]);
  });

  it('messages pushed while a frame is being handled come in the next frame, after its ack', async () => {
    const server = await startProtocolServer();
    const o = sdk(server.url, { token: 'ben' });
    const g = gated();
    o.client.onPush(async (_data, { id }) => {
      g.calls.push(id);
      g.started.push(id);
      if (g.calls.length === 1) await g.gate;
    });
    await o.connected.waitFor();
    const first = server.push('ben', 'first');
    await g.started.waitFor((id) => id === first);
    const later = [server.push('ben', 'a'), server.push('ben', 'b'), server.push('ben', 'c')];
    expect(server.frames.items.map((f) => f.ids)).toEqual([[first]]);
    g.release();
    await server.acks.waitForCount(() => true, 2);
    expect(server.frames.items.map((f) => f.ids)).toEqual([[first], later]);
    expect(server.acks.items.map((a) => a.reply)).toEqual([undefined, undefined]);
    expect(g.calls).toEqual([first, ...later]);
    expect(server.pending('ben')).toEqual([]);
  });

  it('a throwing handler: the frame is acknowledged with the ids handled; the rest comes again', async () => {
    const server = await startProtocolServer();
    const ids = [server.push('cat', 'a'), server.push('cat', 'b'), server.push('cat', 'c')];
    const o = sdk(server.url, { token: 'cat' });
    const calls: string[] = [];
    o.client.onPush((_data, { id }) => {
      calls.push(id);
      if (id === ids[1] && calls.filter((c) => c === id).length === 1) throw new Error('not yet');
    });
    const first = await o.connected.waitFor();
    const ack = await server.acks.waitFor((a) => a.socketId === first);
    expect(ack.reply).toEqual({ ids: [ids[0], ids[2]] });
    expect(await o.errors.waitFor((e) => e.code === 'handler_error')).toMatchObject({
      id: ids[1],
      source: 'client',
    });
    expect(server.pending('cat')).toEqual([ids[1]]);

    // The next connection gets the message left out, alone; handled now, the frame is acknowledged whole.
    server.socketOf('cat')!.conn.close();
    const second = await o.connected.waitFor((id) => id !== first);
    const again = await server.acks.waitFor((a) => a.socketId === second);
    expect(again).toMatchObject({ frame: [ids[1]], reply: undefined });
    expect(calls).toEqual([ids[0], ids[1], ids[2], ids[1]]);
    expect(server.pending('cat')).toEqual([]);
  });

  it('a frame sent again after a reconnect is acknowledged without calling the handler again', async () => {
    const server = await startProtocolServer();
    const ids = [server.push('dan', 1), server.push('dan', 2)];
    const o = sdk(server.url, { token: 'dan', reconnectDelayMinMs: 200, reconnectDelayMaxMs: 200 });
    const g = gated();
    o.client.onPush(async (_data, { id }) => {
      g.calls.push(id);
      g.started.push(id);
      if (g.calls.length === 1) await g.gate;
    });
    const first = await o.connected.waitFor();
    await g.started.waitFor((id) => id === ids[0]);
    // The transport drops while the first message is being handled: the frame cannot be acknowledged.
    server.socketOf('dan')!.conn.close();
    await o.disconnected.waitFor();
    g.release();
    const second = await o.connected.waitFor((id) => id !== first);
    const ack = await server.acks.waitFor((a) => a.socketId === second);
    expect(frameAcks(server, first)).toEqual([]);
    expect(ack).toMatchObject({ frame: ids, reply: undefined });
    expect(server.frames.items.map((f) => f.ids)).toEqual([ids, ids]);
    expect(g.calls).toEqual(ids);
    expect(server.pending('dan')).toEqual([]);
  });

  it('a frame handled after its connection was replaced is settled by ids on the new connection', async () => {
    const server = await startProtocolServer();
    const ids = [server.push('eve', 1), server.push('eve', 2)];
    const o = sdk(server.url, { token: 'eve' });
    const g = gated();
    o.client.onPush(async (_data, { id }) => {
      g.calls.push(id);
      g.started.push(id);
      if (g.calls.length === 1) await g.gate;
    });
    const first = await o.connected.waitFor();
    await g.started.waitFor((id) => id === ids[0]);
    server.socketOf('eve')!.conn.close();
    const second = await o.connected.waitFor((id) => id !== first);
    // The new connection's frame waits behind the old one; the old one's callback is stale: by ids instead.
    g.release();
    const ack = await server.acks.waitFor((a) => a.socketId === second);
    expect(server.deliveries.items).toEqual([{ token: 'eve', payload: { ids } }]);
    expect(ack).toMatchObject({ frame: ids, reply: undefined });
    expect(frameAcks(server, first)).toEqual([]);
    expect(g.calls).toEqual(ids);
  });

  it('a broadcast frame runs the handlers and is never acknowledged', async () => {
    const server = await startProtocolServer();
    const o = sdk(server.url, { token: 'fay' });
    const seen = new Recorder<{ id: string; broadcast: boolean; data: unknown }>();
    o.client.onPush((data, { id, broadcast }) => seen.push({ id, broadcast, data }));
    await o.connected.waitFor();
    const b = server.broadcast('fay', { all: true });
    expect(await seen.waitFor()).toEqual({ id: b, broadcast: true, data: { all: true } });
    // A stored push after it: its ack arrives after anything the client sent for the broadcast.
    const id = server.push('fay', 'stored');
    await server.acks.waitFor((a) => a.frame.includes(id));
    expect(server.acks.items.map((a) => a.frame)).toEqual([[id]]);
    expect(server.deliveries.items).toEqual([]);
    expect(seen.items.map((m) => m.broadcast)).toEqual([true, false]);
  });

  it('elements that are not envelopes: malformed_push, and the frame is acknowledged by the ids handled', async () => {
    const server = await startProtocolServer();
    const o = sdk(server.url, { token: 'gus' });
    o.client.onPush(() => undefined);
    await o.connected.waitFor();
    const socket = server.socketOf('gus')!;
    const reply = await socket
      .timeout(5000)
      .emitWithAck('push_batch', [{ id: 'good', data: 1, ts: 1 }, { data: 'no id' }, 42]);
    expect(reply).toEqual({ ids: ['good'] });
    expect(await o.errors.waitFor()).toMatchObject({ code: 'malformed_push', source: 'client' });
    expect(await socket.timeout(5000).emitWithAck('push_batch', 'not a frame')).toEqual({ ids: [] });
  });

  it('a frame that arrives while no handler is registered is acknowledged with no ids: it stays pending', async () => {
    const server = await startProtocolServer();
    const id = server.push('hal', 'early');
    const o = sdk(server.url, { token: 'hal' });
    await o.connected.waitFor();
    expect(await server.acks.waitFor()).toMatchObject({ frame: [id], reply: { ids: [] } });
    expect(server.pending('hal')).toEqual([id]);
  });

  it('tells once per connection when the server does not speak v3 (push_message to a v3 client)', async () => {
    const server = await startProtocolServer();
    const o = sdk(server.url, { token: 'ida' });
    o.client.onPush(() => undefined);
    await o.connected.waitFor();
    const socket = server.socketOf('ida')!;
    socket.emit('push_message', { data: 'legacy' });
    socket.emit('push_message', { data: 'legacy' });
    const error = await o.errors.waitFor();
    expect(error.code).toBe('malformed_push');
    expect(error.message).toMatch(/push_message to a protocol v3 connection/);
    // Anything the client would have sent for the two pushes precedes the ack of this frame.
    await socket.timeout(5000).emitWithAck('push_batch', [{ id: 'x', data: 1, ts: 1 }]);
    expect(o.errors.items).toHaveLength(1);
    expect(server.deliveries.items).toEqual([]);
  });
});

describe('@io-session/client with protocol: 2', () => {
  it('asks for v2 and acknowledges each push_message by its own callback', async () => {
    const server = await startProtocolServer();
    const ids = [server.push('jo', 1), server.push('jo', 2)];
    const o = sdk(server.url, { token: 'jo', protocol: 2 });
    const calls: string[] = [];
    o.client.onPush((_data, { id }) => {
      calls.push(id);
    });
    await o.connected.waitFor();
    expect(server.handshakes.items).toEqual([{ token: 'jo', v: 2 }]);
    await server.acks.waitForCount(() => true, 2);
    expect(server.frames.items.map((f) => [f.event, f.ids])).toEqual(ids.map((id) => ['push_message', [id]]));
    expect(server.acks.items.map((a) => a.reply)).toEqual([undefined, undefined]);
    expect(calls).toEqual(ids);
    expect(server.pending('jo')).toEqual([]);
  });

  it('refuses a protocol it does not speak, naming the option', () => {
    expect(() => connect('http://127.0.0.1:1', { token: 't', protocol: 4 as never })).toThrow(
      /option protocol must be 2 or 3/,
    );
  });
});
