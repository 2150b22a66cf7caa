/**
 * A node SIGKILLed behind HAProxy (the deployed deploy/haproxy/haproxy.cfg, Debian's binary, loopback ports):
 * its clients come back through HAProxy to the surviving nodes by themselves, the pushes made before, during
 * and after the crash all arrive, and every session survives with the same sid (no `session.ended`).
 */
import { freePort } from '@io-session/devtools';
import { describe, expect, it } from 'vitest';
import { connectClient } from '../helpers/clients.js';
import { messageStatus, pushViaApi, type PushAccepted } from '../helpers/delivery.js';
import { BalancedClient, haproxyRequired, startHaproxy } from '../helpers/haproxy.js';
import { startNode } from '../helpers/node-process.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { startRedis } from '../helpers/redis-server.js';
import { SessionEventsQueue } from '../helpers/session-events.js';
import { getSession, sessionWhere, type ApiSession } from '../helpers/sessions-api.js';
import { waitUntil } from '../helpers/wait.js';

const CLIENTS = 30;
const SESSION_TIMEOUT_MS = 5000;
const HEARTBEAT_TTL_MS = 1000;

interface Push {
  seq: number;
  token: string;
  id: string;
  phase: 'before' | 'during' | 'after';
}

describe.skipIf(!haproxyRequired())('a node SIGKILLed behind HAProxy', () => {
  it('its clients return through HAProxy to the others; nothing pushed is lost; sessions keep their sid', async () => {
    const redis = await startRedis();
    const prefix = uniquePrefix('lbkill');
    const events = new SessionEventsQueue(redis.url, prefix);
    const names = ['node1', 'node2', 'node3'];
    const ports = [await freePort(), await freePort(), await freePort()];
    const nodes = await Promise.all(
      names.map((name, i) =>
        startNode({
          redisUrl: redis.url,
          prefix,
          port: ports[i]!,
          nodeId: name,
          env: {
            SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
            HEARTBEAT_MS: '200',
            HEARTBEAT_TTL_MS: String(HEARTBEAT_TTL_MS),
            SWEEP_INTERVAL_MS: '200',
          },
        }),
      ),
    );
    const lb = await startHaproxy({ servers: names.map((name, i) => ({ name, port: ports[i]! })) });
    await Promise.all(names.map((name) => lb.waitFor(name, 'UP')));

    const clients = Array.from(
      { length: CLIENTS },
      (_, i) => new BalancedClient({ url: lb.url, token: `lbkill-${i}`, v2: i % 2 === 0 }),
    );
    await Promise.all(clients.map((c) => c.firstConnect()));
    const before = new Map<string, ApiSession>();
    for (const c of clients)
      before.set(c.token, await sessionWhere(lb.url, c.token, (s) => s.connections.length === 1));

    // The victim: the node holding the most clients (leastconn spreads them about evenly).
    const holders = (nodeId: string): BalancedClient[] =>
      clients.filter((c) => before.get(c.token)!.connections[0]!.nodeId === nodeId);
    const victim = [...nodes].sort((a, b) => holders(b.nodeId).length - holders(a.nodeId).length)[0]!;
    const moved = holders(victim.nodeId);
    const survivors = nodes.filter((n) => n !== victim).map((n) => n.nodeId);
    expect(moved.length).toBeGreaterThan(0);
    const witness = 'lbkill-witness';
    await connectClient(victim.url, { token: witness });
    await sessionWhere(lb.url, witness, (s) => s.connections[0]?.nodeId === victim.nodeId);

    let seq = 0;
    const pushes: Push[] = [];
    const refused: string[] = [];
    const pushAll = (phase: Push['phase']): Promise<void[]> =>
      Promise.all(
        clients.map(async (c) => {
          const n = ++seq;
          try {
            const res = await pushViaApi(lb.url, { token: c.token, data: { seq: n, phase } });
            const body = res.body as PushAccepted;
            if (res.status === 202 && body.accepted)
              pushes.push({ seq: n, token: c.token, id: body.id, phase });
            else refused.push(`${phase} #${n}: ${res.status} ${JSON.stringify(res.body)}`);
          } catch (err) {
            refused.push(`${phase} #${n}: ${(err as Error).message}`);
          }
        }),
      );
    const received = (phase?: Push['phase']): boolean =>
      pushes
        .filter((p) => phase === undefined || p.phase === phase)
        .every((p) => clients.find((c) => c.token === p.token)!.received.has(p.seq));

    // Before: everyone connected, everything arrives.
    await pushAll('before');
    await waitUntil(() => received('before'), { message: 'the pushes before the crash arrive' });

    // The crash, and pushes right away, while the victim's clients are reconnecting (through HAProxy, which
    // has not noticed yet: its connection to the dead node is refused and redispatched).
    const killedAt = Date.now();
    await victim.kill();
    await pushAll('during');
    await lb.waitFor(victim.nodeId, 'DOWN');
    const detectedMs = Date.now() - killedAt;

    // The victim's clients reconnect by themselves, through HAProxy, to the surviving nodes.
    await waitUntil(() => moved.every((c) => c.connected && c.connects >= 2), {
      timeout: SESSION_TIMEOUT_MS,
      message: "the dead node's clients are connected again",
    });
    const after = new Map<string, ApiSession>();
    for (const c of clients) {
      after.set(
        c.token,
        await sessionWhere(
          lb.url,
          c.token,
          (s) => s.connections.length === 1 && survivors.includes(s.connections[0]!.nodeId),
          HEARTBEAT_TTL_MS * 5,
        ),
      );
    }
    await pushAll('after');
    await waitUntil(() => received(), { timeout: 15_000, message: 'every push arrives' }).catch(
      (err: unknown) => {
        const missing = pushes.filter((p) => !clients.find((c) => c.token === p.token)!.received.has(p.seq));
        throw new Error(`${(err as Error).message}: missing ${JSON.stringify(missing.slice(0, 5))}`);
      },
    );
    await waitUntil(
      async () => {
        const statuses = await Promise.all(pushes.map((p) => messageStatus(lb.url, p.id)));
        return statuses.every((s) => (s.body as { status?: string }).status === 'delivered');
      },
      { timeout: 10_000, interval: 200, message: 'GET /v1/messages/:id says delivered for every push' },
    );
    // The witness, whose connection died with the node and never came back, ends once its grace has run from
    // the reaping of the dead node's connections: by then, any session the crash had orphaned would have too.
    await waitUntil(async () => (await events.ended(witness)).length === 1, {
      timeout: HEARTBEAT_TTL_MS * 3 + SESSION_TIMEOUT_MS + 5000,
      message: 'the witness session ends',
    });
    expect((await getSession(lb.url, witness)).status).toBe(404);
    const ended = (await events.events()).filter((e) => e.type === 'session.ended' && e.token !== witness);
    const reconnects = moved.flatMap((c) => c.reconnectMs);
    console.log(
      [
        `SIGKILL behind HAProxy: ${CLIENTS} clients, ${moved.length} on the killed ${victim.nodeId}`,
        `  HAProxy marked it DOWN ${detectedMs} ms after the kill`,
        `  reconnect time of its clients: max ${Math.max(...reconnects)} ms`,
        `  pushes: ${pushes.length} accepted (${CLIENTS} before, ${CLIENTS} during, ${CLIENTS} after), ${refused.length} refused`,
        `  duplicates received: ${clients.reduce((n, c) => n + c.duplicates, 0)}`,
        `  session.ended events: ${ended.length}`,
      ].join('\n'),
    );

    expect(refused).toEqual([]);
    expect(pushes).toHaveLength(3 * CLIENTS);
    expect(moved.every((c) => c.disconnects.every((d) => d.reason === 'transport close'))).toBe(true);
    for (const c of clients) {
      expect(after.get(c.token)!.sid).toBe(before.get(c.token)!.sid);
      expect(after.get(c.token)!.status).toBe('connected');
    }
    expect(ended).toEqual([]);
  });
});
