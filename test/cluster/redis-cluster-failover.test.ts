import { io, type Socket } from 'socket.io-client';
import { afterAll, describe, expect, it } from 'vitest';
import { deferCleanup } from '../helpers/cleanup.js';
import { startNode, TEST_API_KEY, type NodeProcess } from '../helpers/node-process.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { startCluster } from '../helpers/redis-server.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * A Redis Cluster primary is SIGKILLed while pushes flow: its replica takes over, the nodes carry on, and
 * every accepted push still reaches its client. Pushes are acknowledged after one replica has them
 * (REDIS_WAIT_REPLICAS=1), so the failover cannot take an acknowledged push with it.
 */
const CLIENTS = 40;
const report: Record<string, number | string> = {};

afterAll(() => {
  console.log('Redis Cluster primary failover under load:');
  console.table(report);
});

describe('Redis Cluster failover', () => {
  it('loses no accepted push when a primary dies under load, and reports the stall', async () => {
    const cluster = await startCluster();
    const prefix = uniquePrefix('failover');
    const env = {
      REDIS_CLUSTER: cluster.seeds.join(','),
      REDIS_WAIT_REPLICAS: '1',
      SESSION_TIMEOUT_MS: '30000',
      HEARTBEAT_MS: '500',
      HEARTBEAT_TTL_MS: '15000',
    };
    const nodes: NodeProcess[] = [
      await startNode({ redisUrl: cluster.url, prefix, env }),
      await startNode({ redisUrl: cluster.url, prefix, env }),
    ];

    const received = new Map<string, number>();
    const sockets: Socket[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const socket = io(nodes[i % 2]!.url, {
        auth: { token: `fo-${i}`, v: 2 },
        transports: ['websocket'],
        forceNew: true,
      });
      socket.on('push_message', (message: { id: string }, ack?: () => void) => {
        received.set(message.id, Date.now());
        ack?.();
      });
      sockets.push(socket);
      deferCleanup(() => socket.disconnect());
    }
    await waitUntil(() => sockets.every((s) => s.connected), {
      timeout: 20_000,
      message: 'clients connected',
    });

    const accepted: { id: string; at: number }[] = [];
    let refused = 0;
    let stop = false;
    let killedAt = 0;
    const pushing = (async () => {
      for (let n = 0; !stop; n++) {
        const node = nodes[n % 2]!;
        try {
          const res = await fetch(`${node.url}/v1/push`, {
            method: 'POST',
            headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
            body: JSON.stringify({ token: `fo-${n % CLIENTS}`, data: { n } }),
            signal: AbortSignal.timeout(5000),
          });
          if (res.status === 202)
            accepted.push({ id: ((await res.json()) as { id: string }).id, at: Date.now() });
          else refused += 1;
        } catch {
          refused += 1;
        }
      }
    })();

    await waitUntil(() => accepted.length >= 300, { timeout: 30_000, message: '300 pushes before the kill' });
    const primaries = await cluster.primaryPorts();
    const victim = cluster.servers.get(primaries[0]!);
    expect(victim).toBeDefined();
    killedAt = Date.now();
    await victim!.kill();
    const acceptedAtKill = accepted.length;
    await waitUntil(() => accepted.length >= acceptedAtKill + 300, {
      timeout: 60_000,
      message: '300 more pushes accepted after the failover',
    });
    stop = true;
    await pushing;

    await waitUntil(() => accepted.every(({ id }) => received.has(id)), {
      timeout: 30_000,
      message: 'every accepted push received',
    });
    // The stall: the longest gap between two accepted pushes around the kill.
    let stall = 0;
    for (let i = 1; i < accepted.length; i++) {
      if (accepted[i]!.at >= killedAt) stall = Math.max(stall, accepted[i]!.at - accepted[i - 1]!.at);
    }
    report['pushes accepted'] = accepted.length;
    report['pushes delivered'] = accepted.filter(({ id }) => received.has(id)).length;
    report['pushes refused (503 / timeout) during failover'] = refused;
    report['longest stall of accepted pushes (ms)'] = stall;
    expect(report['pushes delivered']).toBe(accepted.length);
    for (const node of nodes) expect(node.proc.exitCode).toBeNull();
  });
});
