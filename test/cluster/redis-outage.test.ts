import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { api } from '../helpers/clients.js';
import { DeliveryClient, pushAccepted, pushViaApi } from '../helpers/delivery.js';
import { startNodes, TEST_API_KEY, type NodeProcess } from '../helpers/node-process.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { startRedis } from '../helpers/redis-server.js';
import { SessionEventsQueue } from '../helpers/session-events.js';
import { waitUntil } from '../helpers/wait.js';

/** The default heartbeat TTL (storeDefaults.heartbeatTtlMs): the test runs at default liveness timings. */
const TTL_MS = 10_000;
const OUTAGE_MS = 3 * TTL_MS;
const CLIENTS = 20;
const PUSHES = 5;

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

/** Every node reports a heartbeat streak past the TTL (plus a sweep): from then on it could have reaped. */
async function streaksPastTtl(nodes: NodeProcess[]): Promise<void> {
  await waitUntil(
    async () => {
      const res = await api<{ nodes: { info: { streakMs?: number } }[] }>(nodes[0]!.url, '/v1/nodes', {
        apiKey: TEST_API_KEY,
      });
      if (res.status !== 200 || res.body.nodes.length !== nodes.length) return false;
      return res.body.nodes.every((n) => (n.info.streakMs ?? 0) > TTL_MS + 2000);
    },
    { timeout: 3 * TTL_MS, interval: 250, message: 'every node beats past its TTL again' },
  );
}

async function pushRound(nodes: NodeProcess[], clients: DeliveryClient[], round: number): Promise<void> {
  await Promise.all(
    clients.map(async (c, i) => {
      for (let k = 0; k < PUSHES; k++)
        await pushAccepted(nodes[(i + k) % nodes.length]!.url, { token: c.token, data: { round, k } });
    }),
  );
}

describe('a Redis outage three times the heartbeat TTL, at default timings', () => {
  it('fences no node, drops no client, ends no session, loses no accepted push; the cluster goes on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ios-outage-'));
    const redis = await startRedis({
      extraArgs: ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir],
    });
    const prefix = uniquePrefix('outage');
    // Default HEARTBEAT_MS, HEARTBEAT_TTL_MS and SWEEP_INTERVAL_MS.
    const nodes = await startNodes(2, { redisUrl: redis.url, prefix });
    const clients = Array.from(
      { length: CLIENTS },
      (_, i) => new DeliveryClient({ token: `o${i}`, v2: true }),
    );
    await Promise.all(clients.map((c, i) => c.connect(nodes[i % nodes.length]!.url)));
    const drops: string[] = [];
    for (const c of clients)
      c.socket!.on('disconnect', (reason: string) => drops.push(`${c.token}: ${reason}`));
    await pushRound(nodes, clients, 0);
    await Promise.all(clients.map((c) => c.waitForCount(PUSHES)));
    await streaksPastTtl(nodes);

    await redis.kill();
    const during = await pushViaApi(nodes[0]!.url, { token: 'o0', data: 'during' });
    expect(during.status).toBe(503);
    // The outage itself is what this test is about: 30 s of a Redis that refuses connections.
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    await redis.restart();
    await Promise.all(
      nodes.map((n) =>
        waitUntil(async () => (await api(n.url, '/readyz')).status === 200, {
          timeout: 20_000,
          message: 'ready',
        }),
      ),
    );
    await pushRound(nodes, clients, 1);
    await streaksPastTtl(nodes);
    await pushRound(nodes, clients, 2);
    await Promise.all(clients.map((c) => c.waitForCount(3 * PUSHES, { timeout: 20_000 })));

    const fenced = await Promise.all(nodes.map((n) => metric(n.url, 'ios_fenced_total')));
    const reaped = await Promise.all(nodes.map((n) => metric(n.url, 'ios_reaped_nodes_total')));
    const ended = await new SessionEventsQueue(redis.url, prefix).events();
    expect({ fenced, reaped, drops }).toEqual({ fenced: [0, 0], reaped: [0, 0], drops: [] });
    expect(ended.filter((e) => e.type === 'session.ended')).toEqual([]);
    expect(clients.every((c) => c.connections === 1 && c.logouts.items.length === 0)).toBe(true);
    for (const c of clients) {
      const datas = c.datas().map((d) => JSON.stringify(d));
      expect(new Set(datas).size).toBe(3 * PUSHES);
    }
    for (const n of nodes) expect(n.proc.exitCode).toBeNull();
  });
});
