// The node's acknowledgement deadlines (one sweep, no timer per frame): a v3 frame never acknowledged stalls its
// connection; a v2 message never acknowledged is forgotten, not kept for ever. Real Socket.IO server and clients.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket } from 'socket.io';
import { io as rawClient } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { AckDeadlines } from '../../packages/server/src/protocol/ack-deadlines.js';
import { Sender, type Sized } from '../../packages/server/src/protocol/sender.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { waitUntil } from '../helpers/wait.js';

async function serverWithClient(v: '2' | '3', onPush: (args: unknown[]) => void): Promise<Socket> {
  const http = createServer();
  const io = new Server(http);
  deferCleanup(() => io.close());
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const joined = new Promise<Socket>((resolve) => io.on('connection', resolve));
  const { port } = http.address() as AddressInfo;
  const client = rawClient(`http://127.0.0.1:${port}`, { transports: ['websocket'], query: { v } });
  deferCleanup(() => client.close());
  client.on(v === '3' ? 'push_batch' : 'push_message', (...args: unknown[]) => onPush(args));
  return joined;
}

function delivery(seq: number): Sized {
  return { seq, id: `m${seq}`, ts: Date.now(), data: { n: seq }, size: 8 };
}

function sender(socket: Socket, protocol: 2 | 3, deadlines: AckDeadlines, stalled: string[]) {
  const s = new Sender({
    socket,
    protocol,
    maxBufferedBytes: 1 << 20,
    ackTimeoutMs: 300,
    deadlines,
    frameMessages: 10,
    frameBytes: 1 << 16,
    remember: 100,
    onAck: () => undefined,
    onStalled: (reason) => stalled.push(reason),
  });
  s.expect(0);
  s.endReplay();
  s.start();
  return s;
}

describe('acknowledgement deadlines', () => {
  it('stalls a v3 connection whose frame is never acknowledged, once, after the timeout', async () => {
    const frames: unknown[] = [];
    const socket = await serverWithClient('3', (args) => frames.push(args[0])); // never calls the ack
    const deadlines = new AckDeadlines(50);
    deferCleanup(() => deadlines.stop());
    const stalled: string[] = [];
    const s = sender(socket, 3, deadlines, stalled);
    s.offer(delivery(1));
    s.offer(delivery(2));
    await waitUntil(() => frames.length === 1);
    expect(deadlines.size).toBe(1);
    expect(stalled).toEqual([]);
    await waitUntil(() => stalled.length > 0, { timeout: 3000 });
    expect(stalled).toEqual(['ack_timeout']);
    expect(deadlines.size).toBe(0);
  });

  it('forgets v2 messages never acknowledged after the timeout, and keeps watching nothing', async () => {
    const got: unknown[] = [];
    const socket = await serverWithClient('2', (args) => got.push(args[0]));
    const deadlines = new AckDeadlines(50);
    deferCleanup(() => deadlines.stop());
    const stalled: string[] = [];
    const s = sender(socket, 2, deadlines, stalled);
    for (let seq = 1; seq <= 5; seq++) s.offer(delivery(seq));
    await waitUntil(() => got.length === 5);
    expect(s.sent.size).toBe(5);
    await waitUntil(() => s.sent.size === 0, { timeout: 3000 });
    expect(deadlines.size).toBe(0);
    expect(stalled).toEqual([]);
  });

  it('an acknowledged v3 frame clears its deadline and the next frame goes out', async () => {
    const frames: unknown[][] = [];
    const socket = await serverWithClient('3', (args) => {
      frames.push(args[0] as unknown[]);
      (args[1] as () => void)();
    });
    const deadlines = new AckDeadlines(50);
    deferCleanup(() => deadlines.stop());
    const stalled: string[] = [];
    const s = sender(socket, 3, deadlines, stalled);
    for (let seq = 1; seq <= 25; seq++) s.offer(delivery(seq));
    await waitUntil(() => frames.flat().length === 25);
    await waitUntil(() => deadlines.size === 0, { timeout: 3000 });
    deadlines.sweep(Date.now() + 10_000); // long past every deadline: nothing is outstanding to stall
    expect(stalled).toEqual([]);
  });
});
