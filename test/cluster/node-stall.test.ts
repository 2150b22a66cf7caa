import { describe, expect, it } from 'vitest';
import { api, connectClient } from '../helpers/clients.js';
import { startNodes, TEST_API_KEY, type NodeProcess } from '../helpers/node-process.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { startRedis } from '../helpers/redis-server.js';
import { sessionWhere } from '../helpers/sessions-api.js';
import { openStore } from '../helpers/store.js';
import { waitUntil } from '../helpers/wait.js';

const HEARTBEAT_MS = 200;
const TTL_MS = 1000;

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

async function instanceOf(via: NodeProcess, node: NodeProcess): Promise<string | undefined> {
  const res = await api<{ nodes: { instance: string; nodeId: string }[] }>(via.url, '/v1/nodes', {
    apiKey: TEST_API_KEY,
  });
  return res.body.nodes.find((n) => n.nodeId === node.nodeId)?.instance;
}

describe('a node that really stalled (SIGSTOP past its heartbeat TTL, then SIGCONT)', () => {
  it('is reaped once, and on waking fences itself under a new instance id that no old reap can touch', async () => {
    const redis = await startRedis();
    const prefix = uniquePrefix('stall');
    const env = {
      HEARTBEAT_MS: String(HEARTBEAT_MS),
      HEARTBEAT_TTL_MS: String(TTL_MS),
      SESSION_TIMEOUT_MS: '20000',
    };
    const [stalled, survivor] = await startNodes(2, { redisUrl: redis.url, prefix, env });
    const client = await connectClient(stalled!.url, { token: 'stall', reconnection: true });
    await sessionWhere(survivor!.url, 'stall', (s) => s.connections.length === 1);
    const before = await instanceOf(survivor!, stalled!);
    expect(before).toBeDefined();

    stalled!.proc.kill('SIGSTOP');
    await waitUntil(async () => (await metric(survivor!.url, 'ios_reaped_nodes_total')) === 1, {
      timeout: 10_000,
      message: 'the survivor reaps the stalled node',
    });
    await sessionWhere(survivor!.url, 'stall', (s) => s.connections.length === 0);
    const reconnected = new Promise<void>((resolve) => client.io.once('reconnect', () => resolve()));
    stalled!.proc.kill('SIGCONT');

    await waitUntil(async () => (await metric(stalled!.url, 'ios_fenced_total')) === 1, {
      timeout: 10_000,
      message: 'the stalled node learns it was declared dead',
    });
    await reconnected;
    const after = await instanceOf(survivor!, stalled!);
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    const { store, redis: r } = openStore({ prefix, url: redis.url, buckets: 1 });
    // heartbeat.lua did not register the reaped instance again
    expect(await r.zscore(store.keys.liveNodes, before!)).toBeNull();
    const session = await sessionWhere(survivor!.url, 'stall', (s) => s.connections.length === 1);
    expect(session.connections[0]).toMatchObject({ id: client.id, nodeId: stalled!.nodeId });
    const fields = await r.hgetall(store.keys.session('stall').session);
    expect(fields[`c:${client.id!}`]?.startsWith(`${after!}|`)).toBe(true);

    // A reap of the old instance still running (a reaper whose lease lapsed) removes nothing of the new one.
    expect(await store.sessions.reapConnections({ token: 'stall', instance: before!, graceMs: 1000 })).toBe(
      0,
    );
    await sessionWhere(survivor!.url, 'stall', (s) => s.connections.length === 1);
    // Reaped once, by the survivor; nothing else was declared dead.
    const reaped = await Promise.all(
      [stalled!, survivor!].map((n) => metric(n.url, 'ios_reaped_nodes_total')),
    );
    expect(reaped).toEqual([0, 1]);
    expect(await metric(survivor!.url, 'ios_fenced_total')).toBe(0);
    expect(await r.zcard(store.keys.liveNodes)).toBe(2);
  });
});
