import { storeDefaults } from '../defaults.js';
import { silentLogger, type Logger } from '../logger.js';
import type { SessionStore } from '../session-store.js';

/** Who reaps: its instance and heartbeat settings (a NodeRegistry), what the liveness rule checks. */
export interface ReaperIdentity {
  readonly instance: string;
  readonly heartbeatTtlMs: number;
  readonly heartbeatGapMs: number;
}

export interface ReapedNode {
  instance: string;
  connections: number;
  tokens: number;
}

/**
 * A dead node is reaped once: a survivor claims it under a lease (claim-dead-node-3.lua, which also holds the
 * liveness rule: only a reaper that Redis answered for a whole TTL claims, never itself), removes its connections
 * from every session of its node index (reap-connections.lua, idempotent: a second reaper after a lapsed lease
 * finds nothing left), starts the grace of the sessions left without connections, then forgets the node.
 */
export async function reapDeadNodes(input: {
  store: SessionStore;
  reaper: ReaperIdentity;
  graceMs: number;
  leaseMs?: number;
  logger?: Logger;
  /** Most dead nodes handled in one call. Default `storeDefaults.reapPerSweep`. */
  max?: number;
}): Promise<ReapedNode[]> {
  const { store } = input;
  const reaped: ReapedNode[] = [];
  for (let i = 0; i < (input.max ?? storeDefaults.reapPerSweep); i++) {
    const { reaper } = input;
    const instance = await store.scripts.claimDeadNode(store.keys.nodes, {
      leaseMs: input.leaseMs ?? storeDefaults.reapLeaseMs,
      reaper: reaper.instance,
      ttlMs: reaper.heartbeatTtlMs,
      gapMs: reaper.heartbeatGapMs,
    });
    if (!instance) break;
    const counts = await reapIndex(store, instance, input.graceMs);
    await store.redis.zrem(store.keys.reapingNodes, instance);
    await store.redis.hdel(store.keys.nodeInfo, instance);
    (input.logger ?? silentLogger).info({ instance, ...counts }, 'reaped a dead node');
    reaped.push({ instance, ...counts });
  }
  return reaped;
}

/** Reaps the connections of `instance` in every session of its node index, bucket by bucket. */
async function reapIndex(
  store: SessionStore,
  instance: string,
  graceMs: number,
): Promise<{ connections: number; tokens: number }> {
  let connections = 0;
  let tokens = 0;
  for (let b = 0; b < store.keys.bucketCount; b++) {
    const setKey = store.keys.nodeIndex(b, instance);
    let cursor = '0';
    do {
      const [next, batch] = await store.redis.sscan(setKey, cursor, 'COUNT', storeDefaults.reapScanCount);
      cursor = next;
      const counts = await Promise.all(
        batch.map((token) => store.sessions.reapConnections({ token, instance, graceMs })),
      );
      connections += counts.reduce((a, c) => a + c, 0);
      tokens += batch.length;
    } while (cursor !== '0');
    await store.redis.del(setKey);
  }
  return { connections, tokens };
}
