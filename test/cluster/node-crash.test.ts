import type { Socket } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { connectClient, nextEvent } from '../helpers/clients.js';
import { startNode, startNodes, type NodeOptions, type NodeProcess } from '../helpers/node-process.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { outboxDrained, outboxEntriesAdded } from '../helpers/outbox.js';
import { dropPrefixAfterwards, redisClient, SHARED_REDIS_URL } from '../helpers/redis-client.js';
import { SessionEventsQueue } from '../helpers/session-events.js';
import { sessionGone, sessionWhere, type ApiSession } from '../helpers/sessions-api.js';
import { waitUntil } from '../helpers/wait.js';

const HEARTBEAT_MS = 200;
const HEARTBEAT_TTL_MS = 1000;
const SWEEP_MS = 200;
const GRACE_MS = 1000;

function options(prefix: string, graceMs = GRACE_MS): NodeOptions {
  return {
    redisUrl: SHARED_REDIS_URL,
    prefix,
    env: {
      HEARTBEAT_MS: String(HEARTBEAT_MS),
      HEARTBEAT_TTL_MS: String(HEARTBEAT_TTL_MS),
      SWEEP_INTERVAL_MS: String(SWEEP_MS),
      SESSION_TIMEOUT_MS: String(graceMs),
    },
  };
}

async function connected(
  node: NodeProcess,
  tokens: string[],
): Promise<Map<string, { socket: Socket; sid: string }>> {
  const held = new Map<string, { socket: Socket; sid: string }>();
  for (const token of tokens) {
    const socket = await connectClient(node.url, { token });
    const session = await sessionWhere(node.url, token, (s) => s.connections.length === 1);
    held.set(token, { socket, sid: session.sid! });
  }
  return held;
}

describe('a node killed with SIGKILL', () => {
  it('has its sessions ended by the survivors within heartbeat TTL + grace + a sweep, once each', async () => {
    const prefix = uniquePrefix('kill');
    dropPrefixAfterwards(prefix);
    const [victim, survivor1, survivor2] = (await startNodes(3, options(prefix))) as [
      NodeProcess,
      NodeProcess,
      NodeProcess,
    ];
    const events = new SessionEventsQueue(SHARED_REDIS_URL, prefix);
    const doomed = ['d1', 'd2', 'd3', 'd4', 'd5'];
    const onVictim = await connected(victim, doomed);
    const control = await connected(survivor1, ['alive']);

    const killedAt = Date.now();
    await victim.kill();
    const endedAt = await Promise.all(doomed.map((token) => sessionGone(survivor2.url, token, 10_000)));
    for (const at of endedAt) {
      const took = at - killedAt;
      // the heartbeat lapses at most TTL after the kill, then the grace runs, then a sweep notices
      expect(took).toBeGreaterThanOrEqual(HEARTBEAT_TTL_MS - HEARTBEAT_MS + GRACE_MS - 300);
      expect(took).toBeLessThan(HEARTBEAT_TTL_MS + GRACE_MS + 3 * SWEEP_MS + 1000);
    }

    const ended = await waitUntil(async () => {
      const all = await Promise.all(doomed.map((token) => events.ended(token)));
      return all.every((e) => e.length > 0) ? all : null;
    });
    // a session that ends after all of them: every relay that could carry a second end has happened
    const late = await connectClient(survivor2.url, { token: 'late' });
    await sessionWhere(survivor1.url, 'late', (s) => s.connections.length === 1);
    late.disconnect();
    await sessionGone(survivor1.url, 'late');
    await waitUntil(async () => (await events.ended('late')).length === 1);
    for (const [i, token] of doomed.entries()) {
      expect(await events.ended(token)).toEqual(ended[i]);
      expect(ended[i]).toHaveLength(1);
      expect(ended[i]![0]).toMatchObject({
        type: 'session.ended',
        token,
        status: 0,
        sid: onVictim.get(token)!.sid,
      });
    }
    const alive = await sessionWhere(survivor2.url, 'alive', () => true);
    expect(alive).toMatchObject({ status: 'connected', sid: control.get('alive')!.sid });
    expect(alive.connections).toMatchObject([
      { id: control.get('alive')!.socket.id, nodeId: survivor1.nodeId },
    ]);
    expect(await events.ended('alive')).toEqual([]);

    // Counted where the events are produced: each session start and end is one XADD on a bucket outbox, and
    // XINFO's entries-added keeps that count after the relay has deleted the entry. Not through the jobs above:
    // a second end gets the job id of the first and merges into it. Not through the nodes' /metrics
    // (ios_session_events_total): they count what the scripts returned to a node, so an entry a script appends
    // without returning it (relayed later by outbox recovery) goes uncounted. Not with MONITOR: it streams the
    // commands of every client of the shared Redis (all the tests running at once), and needs a connection per
    // primary on a cluster. The prefix is this test's own, and nothing else writes to its outboxes (no pushes).
    const tokens = [...doomed, 'alive', 'late'];
    const redis = redisClient(SHARED_REDIS_URL);
    expect(await outboxEntriesAdded(redis, prefix), 'session events appended to the outboxes').toBe(
      tokens.length + doomed.length + 1, // one start each; one end each for the doomed and 'late'
    );
    // ... and these are the ones expected: once every entry is relayed (the victim may have died before relaying
    // its starts: recovery relays them once stale), every session has its start, the ended ones their end.
    await outboxDrained(redis, prefix);
    for (const token of tokens) expect(await events.started(token), token).toHaveLength(1);
  });

  it('keeps the sessions of clients that come back quickly, to another node or to the restarted node', async () => {
    const prefix = uniquePrefix('back');
    dropPrefixAfterwards(prefix);
    // "quickly" = within heartbeat TTL + grace; a node process takes a second or two to start on two busy cores
    const grace = 6000;
    const [victim, other] = (await startNodes(2, options(prefix, grace))) as [NodeProcess, NodeProcess];
    const events = new SessionEventsQueue(SHARED_REDIS_URL, prefix);
    const toOther = ['o1', 'o2', 'o3'];
    const toRestarted = ['r1', 'r2', 'r3'];
    const held = await connected(victim, [...toOther, ...toRestarted, 'witness']);

    const drops = [...held.values()].map(({ socket }) => nextEvent(socket, 'disconnect', { timeout: 5000 }));
    await victim.kill();
    await Promise.all(drops);

    // Back at once: half to the other node, half to the victim restarted on the same port with the same NODE_ID.
    const backOnOther = await Promise.all(toOther.map((token) => connectClient(other.url, { token })));
    const restarted = await startNode({
      ...options(prefix, grace),
      port: victim.port,
      nodeId: victim.nodeId,
    });
    const backOnRestarted = await Promise.all(
      toRestarted.map((token) => connectClient(restarted.url, { token })),
    );

    // The witness did not come back: once it has ended, the reaper ran and every original grace has passed.
    await sessionGone(other.url, 'witness', HEARTBEAT_TTL_MS + grace + 5000);
    await waitUntil(async () => (await events.ended('witness')).length === 1);

    const check = async (token: string, socket: Socket, node: NodeProcess): Promise<ApiSession> => {
      const s = await sessionWhere(other.url, token, (x) => x.connections.length === 1);
      expect(s, token).toMatchObject({ status: 'connected', sid: held.get(token)!.sid });
      expect(s.connections, token).toMatchObject([{ id: socket.id, nodeId: node.nodeId }]);
      expect(await events.ended(token), token).toEqual([]);
      return s;
    };
    for (const [i, token] of toOther.entries()) await check(token, backOnOther[i]!, other);
    for (const [i, token] of toRestarted.entries()) await check(token, backOnRestarted[i]!, restarted);
  });
});
