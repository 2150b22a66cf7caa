import { randomBytes } from 'node:crypto';
import { BackgroundLoop } from './background-loop.js';
import { silentLogger, type Logger } from './logger.js';
import { nodeIdOf, type SessionStore } from './session-store.js';

export interface NodeRegistryOptions {
  store: SessionStore;
  /** NODE_ID: how the node is shown to users. */
  nodeId: string;
  /** How often the node says it is alive. Default 2000 ms. */
  heartbeatMs?: number;
  /** How long after its last heartbeat a node counts as dead and its connections are reaped. Default 10000 ms. */
  heartbeatTtlMs?: number;
  logger?: Logger;
  /**
   * Called when this node learns that the cluster had declared it dead (it stalled longer than the TTL)
   * and reaped its connections: it must drop its sockets so that their clients register afresh.
   */
  onFenced?: () => void;
  onError?: (error: unknown) => void;
  /** What the node reports in each heartbeat (shown by `/v1/nodes`). */
  report?: () => Record<string, unknown>;
}

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

export const nodeRegistryDefaults = { heartbeatMs: 2000, heartbeatTtlMs: 10_000 } as const;

/**
 * This node's heartbeat, and the index of the tokens it holds connections for: what a survivor needs to
 * reap this node's connections if it dies.
 */
export class NodeRegistry {
  /** `<NODE_ID>~<suffix>`: unique per process start, so a restarted node is never mistaken for its past self. */
  readonly instance: string;
  readonly heartbeatTtlMs: number;
  readonly #loop: BackgroundLoop;
  #first = true;

  constructor(private readonly options: NodeRegistryOptions) {
    this.instance = `${options.nodeId}~${randomBytes(4).toString('hex')}`;
    this.heartbeatTtlMs = options.heartbeatTtlMs ?? nodeRegistryDefaults.heartbeatTtlMs;
    this.#loop = new BackgroundLoop(
      {
        name: 'heartbeat',
        intervalMs: options.heartbeatMs ?? nodeRegistryDefaults.heartbeatMs,
        logger: options.logger ?? silentLogger,
        ...(options.onError ? { onError: options.onError } : {}),
      },
      () => this.beat(),
    );
  }

  /** Registers the node (first heartbeat) and keeps beating. */
  async start(): Promise<void> {
    await this.beat();
    this.#loop.start();
  }

  async beat(): Promise<void> {
    const { store } = this.options;
    const alive = await store.redis.iosHeartbeat(
      store.keys.liveNodes,
      store.keys.reapingNodes,
      store.keys.nodeInfo,
      this.instance,
      this.heartbeatTtlMs,
      this.#first ? '1' : '0',
      JSON.stringify(this.options.report?.() ?? {}),
    );
    this.#first = false;
    if (alive === 0) {
      (this.options.logger ?? silentLogger).error(
        { instance: this.instance },
        'this node was declared dead by the cluster (it stalled longer than its heartbeat TTL); dropping its sockets',
      );
      this.options.onFenced?.();
    }
  }

  /** Records that this node holds a connection of `token` (before the connection is registered). */
  async track(token: string): Promise<void> {
    await this.options.store.redis.sadd(this.options.store.keys.nodeTokens(this.instance), token);
  }

  /** Forgets `token` once this node holds none of its connections (after they are unregistered). */
  async untrack(token: string): Promise<void> {
    await this.options.store.redis.srem(this.options.store.keys.nodeTokens(this.instance), token);
  }

  /** Stops beating and leaves the cluster (after the node's connections were unregistered). */
  async close(): Promise<void> {
    await this.#loop.stop();
    const { store } = this.options;
    await store.redis.del(store.keys.nodeTokens(this.instance));
    await store.redis.zrem(store.keys.liveNodes, this.instance);
    await store.redis.hdel(store.keys.nodeInfo, this.instance);
  }
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

/** Finds dead node instances and reaps their connections, once each, under a lease. */
export async function reapDeadNodes(input: {
  store: SessionStore;
  graceMs: number;
  leaseMs?: number;
  logger?: Logger;
  /** Most dead nodes handled in one call. Default 4. */
  max?: number;
}): Promise<{ instance: string; connections: number; tokens: number }[]> {
  const { store } = input;
  const reaped: { instance: string; connections: number; tokens: number }[] = [];
  for (let i = 0; i < (input.max ?? 4); i++) {
    const instance = await store.redis.iosClaimDeadNode(
      store.keys.liveNodes,
      store.keys.reapingNodes,
      input.leaseMs ?? 30_000,
    );
    if (!instance) break;
    const setKey = store.keys.nodeTokens(instance);
    let cursor = '0';
    let connections = 0;
    let tokens = 0;
    do {
      const [next, batch] = await store.redis.sscan(setKey, cursor, 'COUNT', 200);
      cursor = next;
      const counts = await Promise.all(
        batch.map((token) => store.reapConnections({ token, instance, graceMs: input.graceMs })),
      );
      connections += counts.reduce((a, c) => a + c, 0);
      tokens += batch.length;
    } while (cursor !== '0');
    await store.redis.del(setKey);
    await store.redis.zrem(store.keys.reapingNodes, instance);
    await store.redis.hdel(store.keys.nodeInfo, instance);
    (input.logger ?? silentLogger).info({ instance, connections, tokens }, 'reaped a dead node');
    reaped.push({ instance, connections, tokens });
  }
  return reaped;
}
