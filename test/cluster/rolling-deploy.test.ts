/**
 * A rolling deploy, for real: Redis, the worker, three node processes and HAProxy (Debian's, running the
 * deployed deploy/haproxy/haproxy.cfg on loopback ports), a few hundred socket.io clients connected through
 * HAProxy, pushes made steadily through HAProxy's HTTP port, and every node replaced in turn with SIGTERM
 * the way Kubernetes does it (drain, exit, a new pod with a new NODE_ID, wait until it is ready).
 * Asserts: no push lost, no session ended, every client connected at the end, every node exited 0 in time.
 */
import { randomInt } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from '@io-session/devtools';
import { describe, expect, it } from 'vitest';
import { messageStatus, pushViaApi, startReceiptSink, type PushAccepted } from '../helpers/delivery.js';
import { BalancedClient, haproxyRequired, startHaproxy } from '../helpers/haproxy.js';
import { startNode, type NodeProcess } from '../helpers/node-process.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { startRedis } from '../helpers/redis-server.js';
import { SessionEventsQueue } from '../helpers/session-events.js';
import { getSession } from '../helpers/sessions-api.js';
import { waitUntil, withTimeout } from '../helpers/wait.js';

const CLIENTS = 200;
const DRAIN_MS = 1500;
/** Time a node may take after its drain to close its queues and exit. */
const EXIT_MARGIN_MS = 2500;
const SESSION_TIMEOUT_MS = 5000;
/** Two push loops, each one push per this many ms (plus the request's own time). */
const PUSH_PAUSE_MS = 10;

const NODE_ENV = {
  SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
  DRAIN_MS: String(DRAIN_MS),
  HEARTBEAT_MS: '250',
  HEARTBEAT_TTL_MS: '2000',
  SWEEP_INTERVAL_MS: '200',
  LOG_LEVEL: 'warn',
};

interface Push {
  seq: number;
  token: string;
  id: string;
}

/** Runs `fn` over `items`, `concurrency` at a time. */
async function inBatches<T, R>(items: T[], concurrency: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += concurrency)
    results.push(...(await Promise.all(items.slice(i, i + concurrency).map(fn))));
  return results;
}

describe.skipIf(!haproxyRequired())('rolling deploy behind HAProxy', () => {
  it('replaces every node with SIGTERM while pushes flow: nothing lost, no session ended, all reconnected', async () => {
    // ---- the cluster ----------------------------------------------------------------------------------
    const redis = await startRedis();
    const prefix = uniquePrefix('roll');
    const sink = await startReceiptSink({ redisUrl: redis.url, prefix });
    const events = new SessionEventsQueue(redis.url, prefix);
    const names = ['node1', 'node2', 'node3'];
    const ports = [await freePort(), await freePort(), await freePort()];
    const launch = (i: number, generation: number): Promise<NodeProcess> =>
      startNode({
        redisUrl: redis.url,
        prefix,
        port: ports[i]!,
        nodeId: `${names[i]!}-g${generation}`,
        env: NODE_ENV,
      });
    const nodes = await Promise.all(names.map((_, i) => launch(i, 1)));
    const lb = await startHaproxy({ servers: names.map((name, i) => ({ name, port: ports[i]! })) });
    await Promise.all(names.map((name) => lb.waitFor(name, 'UP')));

    // ---- clients through HAProxy: half legacy, half v2 ---------------------------------------------------
    const clients = Array.from(
      { length: CLIENTS },
      (_, i) => new BalancedClient({ url: lb.url, token: `roll-${i}`, v2: i % 2 === 1 }),
    );
    await inBatches(clients, 25, (c) => c.firstConnect());
    const byToken = new Map(clients.map((c) => [c.token, c]));
    const spread = await lb.servers();

    // ---- steady pushes through HAProxy ---------------------------------------------------------------------
    const accepted: Push[] = [];
    const refused: string[] = [];
    let seq = 0;
    let pushing = true;
    const pushLoop = async (): Promise<void> => {
      while (pushing) {
        const client = clients[randomInt(clients.length)]!;
        const n = ++seq;
        try {
          const res = await pushViaApi(lb.url, { token: client.token, data: { seq: n } });
          const body = res.body as PushAccepted;
          if (res.status === 202 && body.accepted)
            accepted.push({ seq: n, token: client.token, id: body.id });
          else refused.push(`#${n}: ${res.status} ${JSON.stringify(res.body)}`);
        } catch (err) {
          refused.push(`#${n}: ${(err as Error).message}`);
        }
        await delay(PUSH_PAUSE_MS);
      }
    };
    const pushers = [pushLoop(), pushLoop()];
    await waitUntil(() => accepted.length >= 50, {
      timeout: 10_000,
      message: 'the first pushes are accepted',
    });

    // ---- the roll: one node at a time, SIGTERM → exit 0 → a new node on the same port → UP in HAProxy --------
    const exits: { node: string; code: number | null; ms: number }[] = [];
    for (let i = 0; i < nodes.length; i++) {
      const old = nodes[i]!;
      const startedAt = Date.now();
      const code = await withTimeout(
        old.stop('SIGTERM'),
        DRAIN_MS + EXIT_MARGIN_MS + 5000,
        `${old.nodeId} to exit after SIGTERM`,
      ).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}\n--- output ---\n${old.output()}`);
      });
      exits.push({ node: old.nodeId, code, ms: Date.now() - startedAt });
      nodes[i] = await launch(i, 2);
      await lb.waitFor(names[i]!, 'UP');
    }
    // A little more traffic on the fully replaced cluster, then stop pushing.
    const sentBefore = seq;
    await waitUntil(() => seq >= sentBefore + 50, {
      timeout: 10_000,
      message: 'pushes after the roll',
    });
    pushing = false;
    await Promise.all(pushers);

    // ---- every client connected, every push received ----------------------------------------------------------
    await waitUntil(() => clients.every((c) => c.connected), {
      timeout: 15_000,
      message: 'every client is connected again',
    }).catch((err: unknown) => {
      const down = clients.filter((c) => !c.connected);
      const reasons = down.slice(0, 5).map((c) => `${c.token}: ${JSON.stringify(c.disconnects)}`);
      const hint = down.some((c) => c.disconnects.some((d) => d.reason === 'io server disconnect'))
        ? "\n('io server disconnect': the drain sent a Socket.IO DISCONNECT packet, after which socket.io-client" +
          ' does not reconnect by itself; a drain must close the transport instead, e.g. socket.conn.close())'
        : '';
      throw new Error(
        `${(err as Error).message}; ${down.length} not connected, e.g.\n${reasons.join('\n')}${hint}`,
      );
    });
    const missing = (): Push[] => accepted.filter((p) => !byToken.get(p.token)!.received.has(p.seq));
    await waitUntil(() => missing().length === 0, {
      timeout: 20_000,
      message: 'every accepted push received',
    }).catch((err: unknown) => {
      const some = missing().slice(0, 5);
      throw new Error(`${(err as Error).message}; ${missing().length} missing, e.g. ${JSON.stringify(some)}`);
    });
    // v2 clients got the id the API answered with.
    for (const p of accepted) {
      const client = byToken.get(p.token)!;
      if (client.v2) expect(client.ids.get(p.seq)).toBe(p.id);
    }

    // ---- the cluster agrees: delivered, one receipt each, sessions alive, on the new nodes ---------------------
    const ids = accepted.map((p) => p.id);
    const undelivered = async (): Promise<string[]> => {
      const statuses = await inBatches(ids, 50, async (id) => {
        const res = await messageStatus(lb.url, id);
        return (res.body as { status?: string }).status === 'delivered'
          ? ''
          : `${id}: ${JSON.stringify(res.body)}`;
      });
      return statuses.filter(Boolean);
    };
    let notDelivered: string[] = [];
    await waitUntil(async () => (notDelivered = await undelivered()).length === 0, {
      timeout: 15_000,
      interval: 250,
      message: 'GET /v1/messages/:id says delivered for every push',
    }).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; e.g. ${notDelivered.slice(0, 5).join('; ')}`);
    });
    await sink.log.waitForIds(ids, 20_000);

    const newIds = new Set(nodes.map((n) => n.nodeId));
    const sessions = await inBatches(clients, 25, (c) => getSession(lb.url, c.token));
    const ended = [
      ...(await events.events()).filter((e) => e.type === 'session.ended'),
      ...sink.events.filter((e) => e.type === 'session.ended'),
    ];
    const started = (await events.events()).filter((e) => e.type === 'session.started');

    // ---- the figures --------------------------------------------------------------------------------------------
    const allReconnects = clients.flatMap((c) => c.reconnectMs);
    const reasons = new Map<string, number>();
    for (const d of clients.flatMap((c) => c.disconnects))
      reasons.set(d.reason, (reasons.get(d.reason) ?? 0) + 1);
    const duplicates = clients.reduce((sum, c) => sum + c.duplicates, 0);
    console.log(
      [
        `rolling deploy: ${CLIENTS} clients (${CLIENTS / 2} legacy, ${CLIENTS / 2} v2) through HAProxy`,
        `  spread before: ${spread.map((s) => `${s.name}=${s.current}`).join(' ')}`,
        `  pushes: ${seq} sent, ${accepted.length} accepted, ${refused.length} refused or failed`,
        `  received: every accepted push; ${duplicates} duplicate deliveries (v2 dropped by id, legacy counted)`,
        `  receipts: ${sink.log.distinct} messages (${sink.mode}), ${sink.log.duplicates().size} with more than one`,
        `  disconnects: ${[...reasons].map(([r, n]) => `${n}× ${r}`).join(', ')}`,
        `  reconnect time: max ${Math.max(0, ...allReconnects)} ms, median ${allReconnects.sort((a, b) => a - b)[allReconnects.length >> 1] ?? 0} ms`,
        `  node exits: ${exits.map((e) => `${e.node} code ${e.code} after ${e.ms} ms`).join(', ')}`,
        `  session events: ${started.length} started, ${ended.length} ended`,
      ].join('\n'),
    );

    // ---- the assertions -----------------------------------------------------------------------------------------
    expect(refused).toEqual([]);
    for (const e of exits) {
      expect(e.code, `${e.node} exit code`).toBe(0);
      expect(e.ms, `${e.node} exit time`).toBeLessThan(DRAIN_MS + EXIT_MARGIN_MS);
    }
    expect(ended).toEqual([]);
    expect(new Set(started.map((e) => e.token)).size).toBe(CLIENTS);
    expect(started).toHaveLength(CLIENTS);
    expect(sink.log.duplicates().size).toBe(0);
    for (const res of sessions) {
      expect(res.status).toBe(200);
      expect(res.body.connections).toHaveLength(1);
      expect(newIds).toContain(res.body.connections[0]!.nodeId);
    }
  }, 180_000);
});
