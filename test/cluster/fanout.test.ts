import { createServer } from 'node:http';
import { freePort } from '@io-session/devtools';
import { createAdapter } from '@socket.io/redis-adapter';
import { Emitter } from '@socket.io/redis-emitter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { afterAll, describe, expect, it } from 'vitest';
import { deferCleanup } from '../helpers/cleanup.js';
import { connectClient, Recorder } from '../helpers/clients.js';
import { startInProcessNode, type InProcessNode } from '../helpers/in-process-node.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { startCluster, startRedis } from '../helpers/redis-server.js';

/**
 * Fan-out: how many Redis pub/sub deliveries one push to one token costs, with 1, 2, 4 and 8 nodes.
 * io-session routes a push on the token's own sharded channel (SPUBLISH), which only the nodes holding the
 * token subscribe to; the classic adapter publishes every room emit to every node. Deliveries are counted
 * where they arrive: on every node's subscriber connection.
 */
const PUSHES = 200;
const NODE_COUNTS = [1, 2, 4, 8];
const figures: Record<string, Record<number, number>> = {
  'io-session (sharded), single Redis': {},
  'io-session (sharded), Redis Cluster': {},
  'bare Socket.IO (classic), single Redis': {},
};

afterAll(() => {
  console.log('Redis pub/sub deliveries per push to one token (median of one run of %d pushes):', PUSHES);
  console.table(figures);
});

async function ioSessionDeliveriesPerPush(
  nodeCount: number,
  redis: string | { cluster: string[] },
): Promise<number> {
  const prefix = uniquePrefix('fan');
  const nodes: InProcessNode[] = [];
  for (let i = 0; i < nodeCount; i++) nodes.push(await startInProcessNode({ redis, prefix }));
  const holder = nodes[0]!;
  const pusher = nodes[nodeCount - 1]!;
  const client = await connectClient(holder.url, { token: 'fan-token', v: 2 });
  const received = new Recorder<string>();
  client.on('push_message', (message: { id: string }, ack: () => void) => {
    ack();
    received.push(message.id);
  });
  const before = await Promise.all(nodes.map((n) => pubsubReceived(n)));
  for (let i = 0; i < PUSHES; i++) expect(await pusher.handler.pushMessage('fan-token', { i })).toBe(true);
  await received.waitFor(() => received.items.length >= PUSHES, 20_000, `${PUSHES} pushes`);
  const after = await Promise.all(nodes.map((n) => pubsubReceived(n)));
  const total = after.reduce((sum, value, i) => sum + value - (before[i] ?? 0), 0);
  client.disconnect();
  await Promise.all(nodes.map((n) => n.close()));
  return total / PUSHES;
}

async function pubsubReceived(node: InProcessNode): Promise<number> {
  const metric = await node.handler.metrics.pubsubReceived.get();
  return metric.values[0]?.value ?? 0;
}

async function classicDeliveriesPerPush(nodeCount: number, redisUrl: string): Promise<number> {
  const key = uniquePrefix('classic');
  let deliveries = 0;
  const servers: Server[] = [];
  for (let i = 0; i < nodeCount; i++) {
    const pub = new Redis(redisUrl);
    const sub = new Redis(redisUrl);
    sub.on('messageBuffer', () => (deliveries += 1));
    sub.on('pmessageBuffer', () => (deliveries += 1));
    const http = createServer();
    const io = new Server(http, { transports: ['websocket'], adapter: createAdapter(pub, sub, { key }) });
    const port = await freePort();
    await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve));
    io.on('connection', (socket) => void socket.join(String(socket.handshake.query.token)));
    servers.push(io);
    deferCleanup(async () => {
      await new Promise<void>((resolve) => void io.close(() => resolve()));
      // quit, not disconnect: the adapter's PUNSUBSCRIBE from io.close() is still in flight.
      await Promise.all([pub.quit(), sub.quit()]);
    });
    (io as Server & { port?: number }).port = port;
  }
  const first = servers[0] as Server & { port?: number };
  const client = await connectClient(`http://127.0.0.1:${first.port ?? 0}`, { token: 'fan-token' });
  const received = new Recorder<number>();
  client.on('push_message', (data: { i: number }) => received.push(data.i));
  const emitterClient = new Redis(redisUrl);
  deferCleanup(() => emitterClient.quit());
  const emitter = new Emitter(emitterClient, { key });
  deliveries = 0;
  for (let i = 0; i < PUSHES; i++) emitter.to('fan-token').emit('push_message', { i });
  await received.waitFor(() => received.items.length >= PUSHES, 20_000, `${PUSHES} classic pushes`);
  const perPush = deliveries / PUSHES;
  client.disconnect();
  return perPush;
}

describe('push fan-out', () => {
  it('stays flat with the number of nodes, where the classic adapter grows with it', async () => {
    const redis = await startRedis();
    for (const n of NODE_COUNTS) {
      figures['io-session (sharded), single Redis']![n] = await ioSessionDeliveriesPerPush(n, redis.url);
      figures['bare Socket.IO (classic), single Redis']![n] = await classicDeliveriesPerPush(n, redis.url);
    }
    const ours = NODE_COUNTS.map((n) => figures['io-session (sharded), single Redis']![n]!);
    const classic = NODE_COUNTS.map((n) => figures['bare Socket.IO (classic), single Redis']![n]!);
    // One node holds the token: at most one delivery per push however many nodes there are.
    for (const value of ours) expect(value).toBeLessThanOrEqual(1);
    expect(ours.at(-1)).toBe(ours[1]);
    // The classic adapter delivers every emit to every node.
    expect(classic.at(-1)).toBeGreaterThanOrEqual(NODE_COUNTS.at(-1)!);
  });

  it('stays flat on a Redis Cluster too (sharded channels live on one shard each)', async () => {
    const cluster = await startCluster();
    for (const n of NODE_COUNTS) {
      figures['io-session (sharded), Redis Cluster']![n] = await ioSessionDeliveriesPerPush(n, {
        cluster: cluster.seeds,
      });
    }
    for (const n of NODE_COUNTS)
      expect(figures['io-session (sharded), Redis Cluster']![n]).toBeLessThanOrEqual(1);
  });
});
