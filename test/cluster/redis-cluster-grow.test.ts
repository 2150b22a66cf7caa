import calculateSlot from 'cluster-key-slot';
import { Redis } from 'ioredis';
import { io, type Socket } from 'socket.io-client';
import { afterAll, describe, expect, it } from 'vitest';
import { deferCleanup } from '../helpers/cleanup.js';
import { startNode, TEST_API_KEY, type NodeProcess } from '../helpers/node-process.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { parseExposition } from '../helpers/prometheus.js';
import { startCluster, type RedisCluster } from '../helpers/redis-server.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * Growing a Redis Cluster under load (issue 12): while two nodes serve 200 clients and pushes flow, a fourth
 * primary joins (`redis-cli --cluster add-node`) and takes its share of the slots (`rebalance
 * --cluster-use-empty-masters`); then the slots of the nodes' route channels and of the adapter's channels move
 * too, wherever CRC16 put them. A slot that moves takes its sharded subscriptions with it (Redis tells the
 * subscriber with an unsolicited SUNSUBSCRIBE): each node must subscribe again on the slot's new owner.
 * Counted at the source: the subscribers Redis has on each channel, and the routes Redis said nobody heard.
 */
const CLIENTS = 200;
/** A push counts as prompt when its client has it this soon after it was accepted. */
const PROMPT_MS = 5000;
const report: Record<string, number | string> = {};

afterAll(() => {
  console.log('Growing a Redis Cluster from 3 to 4 primaries under load:');
  console.table(report);
});

/** Subscribers Redis has on a sharded channel, summed over the primaries (only the slot's owner keeps any). */
async function shardSubscribers(cluster: RedisCluster, channel: string): Promise<number> {
  let total = 0;
  for (const port of await cluster.primaryPorts()) {
    const client = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
    client.on('error', () => undefined);
    try {
      const reply = (await client.call('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number];
      total += Number(reply[1]);
    } finally {
      client.disconnect();
    }
  }
  return total;
}

/** `ios_routes_unheard_total` of a node: route publishes Redis delivered to no subscriber. */
async function unheardRoutes(node: NodeProcess): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const values = parseExposition(text).values.get('ios_routes_unheard_total');
  return [...(values?.values() ?? [])].reduce((a, b) => a + b, 0);
}

async function liveInstances(cluster: RedisCluster, prefix: string): Promise<string[]> {
  const port = (await cluster.primaryPorts())[0]!;
  const key = `${prefix}:{${prefix}.nodes}:live`;
  const client = new Redis(port, '127.0.0.1', { lazyConnect: true });
  client.on('error', () => undefined);
  try {
    const owner = String(await client.cluster('NODES'))
      .split('\n')
      .find((line) => line.includes('master') && ownsSlot(line, calculateSlot(key)));
    const ownerPort = Number(owner?.split(' ')[1]?.split('@')[0]?.split(':').pop());
    const ownerClient = new Redis(ownerPort, '127.0.0.1', { lazyConnect: true });
    try {
      return await ownerClient.zrange(key, 0, -1);
    } finally {
      ownerClient.disconnect();
    }
  } finally {
    client.disconnect();
  }
}

function ownsSlot(line: string, slot: number): boolean {
  return line
    .trim()
    .split(' ')
    .slice(8)
    .some((range) => {
      const [from, to = from] = range.split('-').map(Number);
      return !range.startsWith('[') && slot >= from! && slot <= to!;
    });
}

interface Pushing {
  accepted: Map<string, number>;
  refused: number;
  stop(): Promise<void>;
}

/** Pushes over HTTP to both nodes in turn, to every token in turn, two requests at a time. */
function startPushing(nodes: NodeProcess[]): Pushing {
  const accepted = new Map<string, number>();
  let stopped = false;
  const state = { refused: 0 };
  let n = 0;
  const loop = async (): Promise<void> => {
    while (!stopped) {
      const i = n++;
      try {
        const res = await fetch(`${nodes[i % 2]!.url}/v1/push`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ token: `gr-${i % CLIENTS}`, data: { i } }),
          signal: AbortSignal.timeout(5000),
        });
        if (res.status === 202) accepted.set(((await res.json()) as { id: string }).id, Date.now());
        else state.refused += 1;
      } catch {
        state.refused += 1;
      }
    }
  };
  const loops = [loop(), loop()];
  return {
    accepted,
    get refused() {
      return state.refused;
    },
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

describe('growing a Redis Cluster under load', () => {
  it('delivers every push promptly while slots move to a new primary (broadcasts reported)', async () => {
    const cluster = await startCluster({ replicasPerPrimary: 0 });
    const prefix = uniquePrefix('grow');
    const env = { REDIS_CLUSTER: cluster.seeds.join(','), SESSION_TIMEOUT_MS: '30000' };
    const nodes = [
      await startNode({ redisUrl: cluster.url, prefix, env }),
      await startNode({ redisUrl: cluster.url, prefix, env }),
    ];

    const received = new Map<string, number>();
    const broadcasts = new Set<number>();
    const sockets: Socket[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const socket = io(nodes[i % 2]!.url, {
        auth: { token: `gr-${i}`, v: 2 },
        transports: ['websocket'],
        forceNew: true,
      });
      socket.on('push_message', (message: { id: string; data: unknown }, ack?: () => void) => {
        if ((message.data as { after?: string }).after === 'move') broadcasts.add(i);
        else if (!received.has(message.id)) received.set(message.id, Date.now());
        ack?.();
      });
      sockets.push(socket);
      deferCleanup(() => socket.disconnect());
    }
    await waitUntil(() => sockets.every((s) => s.connected), {
      timeout: 30_000,
      message: 'clients connected',
    });

    const instances = await liveInstances(cluster, prefix);
    expect(instances).toHaveLength(2);
    const routeChannels = instances.map((instance) => `${prefix}:{${prefix}.n.${instance}}:route`);
    // The adapter's namespace channel, and the v2 room's (broadcasts to v2 clients travel there).
    const adapterChannels = ['socket.io#/#', 'socket.io#/#v:2#'];

    const pushing = startPushing(nodes);
    await waitUntil(() => pushing.accepted.size >= 300, { timeout: 30_000, message: '300 pushes first' });
    const newPrimary = await cluster.addPrimary();
    await cluster.rebalance();
    // Wherever CRC16 put the channels, their slots move too (the rebalance took the first quarter of each range).
    for (const channel of [...routeChannels, ...adapterChannels])
      await cluster.moveSlot(calculateSlot(channel), newPrimary);
    report['primaries after the move'] = (await cluster.primaryPorts()).length;
    const movedAt = pushing.accepted.size;

    // Every node subscribes again where its channels now live (counted by Redis, the source).
    const expected = new Map([
      ...routeChannels.map((c) => [c, 1] as const),
      ...adapterChannels.map((c) => [c, 2] as const),
    ]);
    await waitUntil(
      async () => {
        const counts: string[] = [];
        for (const [channel, want] of expected)
          counts.push(`${await shardSubscribers(cluster, channel)}/${want}`);
        report['subscribers per channel (route…, adapter…)'] = counts.join(' ');
        return counts.every((c) => c.split('/')[0] === c.split('/')[1]);
      },
      { timeout: 15_000, interval: 200, message: 'each channel subscribed on its new primary' },
    );
    const unheardBefore = (await Promise.all(nodes.map(unheardRoutes))).reduce((a, b) => a + b, 0);
    const settledAt = pushing.accepted.size;
    await waitUntil(() => pushing.accepted.size >= settledAt + 300, {
      timeout: 30_000,
      message: '300 more pushes after the move',
    });
    await pushing.stop();
    const unheardAfter = (await Promise.all(nodes.map(unheardRoutes))).reduce((a, b) => a + b, 0);

    await waitUntil(() => [...pushing.accepted.keys()].every((id) => received.has(id)), {
      timeout: PROMPT_MS + 5000,
      message: 'every accepted push received',
    }).catch(async (err: unknown) => {
      const missing = [...pushing.accepted].filter(([id]) => !received.has(id));
      report['pushes accepted'] = pushing.accepted.size;
      report['never received'] = missing.length;
      report['clients connected'] = sockets.filter((s) => s.connected).length;
      const statuses = await Promise.all(
        missing.slice(0, 20).map(async ([id]) => {
          const res = await fetch(`${nodes[0]!.url}/v1/messages/${id}`, {
            headers: { authorization: `Bearer ${TEST_API_KEY}` },
          });
          return `${res.status}:${JSON.stringify(await res.json())}`;
        }),
      );
      report['missing (first 20)'] = statuses.join(' ');
      console.log(
        statuses.join('\n'),
        nodes
          .map((n) => n.output())
          .join('\n')
          .slice(-6000),
      );
      throw err;
    });
    const late = [...pushing.accepted].filter(([id, at]) => received.get(id)! - at > PROMPT_MS);
    // A broadcast is at most once (CONTRACT) and travels on the Socket.IO adapter's own sharded channels, which
    // follow a moved slot only when ioredis refreshes its slot map: reported here, not asserted (the pushes above
    // are the promise; docs/operating.md "Growing a Redis Cluster").
    let broadcastsSent = 0;
    await waitUntil(
      async () => {
        if (broadcasts.size === CLIENTS) return true;
        const res = await fetch(`${nodes[0]!.url}/v1/broadcast`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ data: { after: 'move' } }),
        });
        expect(res.status).toBe(202);
        broadcastsSent += 1;
        return false;
      },
      { timeout: 10_000, interval: 2000, message: 'a broadcast after the move reached every client' },
    ).catch(() => undefined);
    report['broadcasts sent after the move'] = broadcastsSent;
    report['clients a broadcast after the move reached'] = `${broadcasts.size} of ${CLIENTS}`;

    report['pushes accepted'] = pushing.accepted.size;
    report['accepted while the slots moved'] = movedAt - 300;
    report['refused (503 / timeout)'] = pushing.refused;
    report[`received later than ${PROMPT_MS} ms`] = late.length;
    report['unheard routes after the subscriptions settled'] = unheardAfter - unheardBefore;
    expect(late).toEqual([]);
    expect(unheardAfter - unheardBefore).toBe(0);
    for (const node of nodes) expect(node.proc.exitCode).toBeNull();
  });
});
