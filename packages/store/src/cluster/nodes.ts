import { nodeIdOf } from '../sessions/reads.js';
import type { SessionStore } from '../session-store.js';

/** A node as the cluster sees it. */
export interface NodeInfo {
  instance: string;
  nodeId: string;
  /** Last heartbeat (Redis clock, ms). */
  heartbeatAt: number;
  /** Heartbeat deadline: after it, the node counts as dead. */
  expiresAt: number;
  info: Record<string, unknown>;
}

/** The live nodes of the cluster with their last reports. */
export async function listNodes(store: SessionStore): Promise<NodeInfo[]> {
  const [live, info] = await Promise.all([
    store.redis.zrange(store.keys.liveNodes, 0, -1, 'WITHSCORES'),
    store.redis.hgetall(store.keys.nodeInfo),
  ]);
  const nodes: NodeInfo[] = [];
  for (let i = 0; i + 1 < live.length; i += 2) {
    const instance = live[i] as string;
    const report = JSON.parse(info[instance] ?? '{"at":0,"info":{}}') as {
      at: number;
      info: Record<string, unknown>;
    };
    nodes.push({
      instance,
      nodeId: nodeIdOf(instance),
      heartbeatAt: report.at,
      expiresAt: Number(live[i + 1]),
      info: report.info,
    });
  }
  return nodes;
}
