import type { Socket } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { connectClient, nextEvent } from '../helpers/clients.js';
import { startNodes, type NodeProcess } from '../helpers/node-process.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { outboxEntriesAdded } from '../helpers/outbox.js';
import { dropPrefixAfterwards, redisClient, SHARED_REDIS_URL } from '../helpers/redis-client.js';
import { startRedis } from '../helpers/redis-server.js';
import { SessionEventsQueue } from '../helpers/session-events.js';
import { sessionGone, sessionWhere } from '../helpers/sessions-api.js';
import { waitUntil } from '../helpers/wait.js';

const GRACE_MS = 1500;
const SWEEP_MS = 200;

interface Variant {
  name: string;
  notifications: 'auto' | 'off';
  /** A private redis-server with CONFIG renamed away instead of the shared Redis. */
  configForbidden: boolean;
}

const variants: Variant[] = [
  { name: 'keyspace notifications on', notifications: 'auto', configForbidden: false },
  { name: 'keyspace notifications off', notifications: 'off', configForbidden: false },
  { name: 'CONFIG renamed away on a private Redis', notifications: 'auto', configForbidden: true },
];

async function disconnected(socket: Socket): Promise<void> {
  const gone = nextEvent(socket, 'disconnect');
  socket.disconnect();
  await gone;
}

describe.each(variants)('three node processes, $name', (variant) => {
  async function cluster(): Promise<{
    nodes: NodeProcess[];
    redisUrl: string;
    prefix: string;
    events: SessionEventsQueue;
  }> {
    const prefix = uniquePrefix('three');
    let redisUrl = SHARED_REDIS_URL;
    if (variant.configForbidden) {
      redisUrl = (await startRedis({ renameConfig: true })).url;
    } else {
      dropPrefixAfterwards(prefix);
    }
    const nodes = await startNodes(3, {
      redisUrl,
      prefix,
      env: {
        SESSION_TIMEOUT_MS: String(GRACE_MS),
        SWEEP_INTERVAL_MS: String(SWEEP_MS),
        HEARTBEAT_MS: '200',
        HEARTBEAT_TTL_MS: '1000',
        KEYSPACE_NOTIFICATIONS: variant.notifications,
      },
    });
    return { nodes, redisUrl, prefix, events: new SessionEventsQueue(redisUrl, prefix) };
  }

  it('shares sessions, keeps one that moves to another node within the grace, and ends it once', async () => {
    const { nodes, events, redisUrl, prefix } = await cluster();
    const [a, b, c] = nodes as [NodeProcess, NodeProcess, NodeProcess];
    const token = 'user-moving';
    const witness = 'user-witness';

    // A session started on node a is seen from b and c, held by a.
    const first = await connectClient(a.url, { token });
    const firstId = first.id!;
    const seen = await Promise.all(
      [a, b, c].map((n) => sessionWhere(n.url, token, (s) => s.connections.length === 1)),
    );
    for (const s of seen) {
      expect(s).toMatchObject({
        token,
        status: 'connected',
        connections: [{ id: firstId, nodeId: a.nodeId }],
      });
      expect(s.sid).toBe(seen[0]!.sid);
    }
    const sid = seen[0]!.sid;
    expect(sid).toEqual(expect.any(String));

    // The client drops; the session waits in its grace, cluster-wide.
    await disconnected(first);
    const inGrace = await sessionWhere(c.url, token, (s) => s.status === 'grace');
    expect(inGrace.connections).toEqual([]);
    expect(inGrace.sid).toBe(sid);

    // A witness session whose grace starts later, so it can only end after the mover's grace would have.
    const w = await connectClient(c.url, { token: witness, auth: true, v: 2 });
    await sessionWhere(a.url, witness, (s) => s.connections.length === 1);
    await disconnected(w);

    // The mover comes back on node b, within its grace.
    const back = await connectClient(b.url, { token, auth: true });
    const backId = back.id!;
    const resumed = await sessionWhere(a.url, token, (s) => s.status === 'connected');
    expect(resumed).toMatchObject({ sid, connections: [{ id: backId, nodeId: b.nodeId }] });

    // Once the witness has ended, the mover's old deadline has passed: it must still be the same session.
    await Promise.all([a, b, c].map((n) => sessionGone(n.url, witness)));
    await waitUntil(async () => (await events.ended(witness)).length === 1, {
      message: 'witness end relayed',
    });
    const still = await sessionWhere(c.url, token, () => true);
    expect(still).toMatchObject({
      sid,
      status: 'connected',
      connections: [{ id: backId, nodeId: b.nodeId }],
    });
    expect(await events.ended(token)).toEqual([]);

    // Now it drops for good: it ends after its grace, on every node, once.
    const droppedAt = Date.now();
    await disconnected(back);
    const goneAt = await Promise.all([a, b, c].map((n) => sessionGone(n.url, token)));
    const endedAfter = Math.min(...goneAt) - droppedAt;
    expect(endedAfter).toBeGreaterThanOrEqual(GRACE_MS - 100);
    expect(endedAfter).toBeLessThan(GRACE_MS + 4 * SWEEP_MS + 1500);

    const ended = await waitUntil(async () => {
      const e = await events.ended(token);
      return e.length > 0 ? e : null;
    });
    // a later session's end has been relayed too: anything a second end would have produced is there by now
    const late = await connectClient(a.url, { token: 'user-late' });
    await disconnected(late);
    await waitUntil(async () => (await events.ended('user-late')).length === 1, { timeout: 10_000 });
    expect(await events.ended(token)).toEqual(ended);
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ type: 'session.ended', token, status: 0, reason: 'grace', id: backId });
    expect(ended[0]!.sid).toBe(sid);
    const started = await events.started(token);
    expect(started).toHaveLength(1);
    expect(started[0]).toMatchObject({ sid, id: firstId, status: 1 });
    // At the source, as these jobs cannot tell (a repeated start or end has the job id of the first and merges
    // into it): each start and end is one XADD on an outbox. Started and ended: the mover, the witness, user-late.
    expect(
      await outboxEntriesAdded(redisClient(redisUrl), prefix),
      'session events appended to the outboxes',
    ).toBe(3 * 2);

    for (const n of nodes) expect(n.proc.exitCode).toBeNull();
  });

  if (variant.notifications === 'auto' && !variant.configForbidden) {
    it('ends a session on its keyspace notification, long before the next periodic sweep', async () => {
      const prefix = uniquePrefix('notify');
      dropPrefixAfterwards(prefix);
      // one node whose periodic sweep almost surely does not run in the few seconds this takes (its first
      // sweep comes at a random moment within the interval): only the notification can end the session in time
      const slowSweep = 120_000;
      const nodes = await startNodes(1, {
        redisUrl: SHARED_REDIS_URL,
        prefix,
        env: {
          SESSION_TIMEOUT_MS: String(GRACE_MS),
          SWEEP_INTERVAL_MS: String(slowSweep),
          KEYSPACE_NOTIFICATIONS: 'auto',
        },
      });
      const client = await connectClient(nodes[0]!.url, { token: 'notified' });
      await sessionWhere(nodes[0]!.url, 'notified', (s) => s.connections.length === 1);
      const droppedAt = Date.now();
      await disconnected(client);
      const goneAt = await sessionGone(nodes[0]!.url, 'notified', GRACE_MS + 3000);
      expect(goneAt - droppedAt).toBeGreaterThanOrEqual(GRACE_MS - 100);
      expect(goneAt - droppedAt).toBeLessThan(GRACE_MS + 1000);
    });
  }

  if (variant.configForbidden) {
    it('starts without CONFIG, warns once per node, and still ends sessions with the sweeper alone', async () => {
      const { nodes } = await cluster();
      const token = 'user-noconfig';
      const client = await connectClient(nodes[0]!.url, { token });
      await sessionWhere(nodes[2]!.url, token, (s) => s.connections.length === 1);
      const droppedAt = Date.now();
      await disconnected(client);
      const goneAt = await sessionGone(nodes[1]!.url, token);
      expect(goneAt - droppedAt).toBeGreaterThanOrEqual(GRACE_MS - 100);
      for (const n of nodes) {
        const warnings = n
          .output()
          .split('\n')
          .filter((line) => /keyspace notification/i.test(line));
        expect(warnings, n.output()).toHaveLength(1);
        expect(warnings[0]).toMatch(/"level":40|warn/i);
      }
    });
  }
});
