import { randomBytes } from 'node:crypto';
import { BackgroundLoop } from '../background-loop.js';
import { storeDefaults } from '../defaults.js';
import { silentLogger, type Logger } from '../logger.js';
import type { SessionStore } from '../session-store.js';

export interface NodeRegistryOptions {
  store: SessionStore;
  /** NODE_ID: how the node is shown to users. */
  nodeId: string;
  /** How often the node says it is alive. Default `storeDefaults.heartbeatMs`. */
  heartbeatMs?: number;
  /** How long after its last heartbeat a node counts as dead. Default `storeDefaults.heartbeatTtlMs`. */
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

/**
 * This node's liveness: its heartbeat, and fencing when it learns it had been declared dead. (The index of the
 * tokens it holds connections of — what a survivor needs to reap them — is kept by the connect scripts.)
 */
export class NodeRegistry {
  /** `<NODE_ID>~<suffix>`: unique per process start, so a restarted node is never mistaken for its past self. */
  readonly instance: string;
  readonly heartbeatTtlMs: number;
  readonly #loop: BackgroundLoop;
  readonly #logger: Logger;
  #first = true;

  constructor(private readonly options: NodeRegistryOptions) {
    this.instance = `${options.nodeId}~${randomBytes(4).toString('hex')}`;
    this.heartbeatTtlMs = options.heartbeatTtlMs ?? storeDefaults.heartbeatTtlMs;
    this.#logger = options.logger ?? silentLogger;
    this.#loop = new BackgroundLoop(
      {
        name: 'heartbeat',
        intervalMs: options.heartbeatMs ?? storeDefaults.heartbeatMs,
        logger: this.#logger,
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
    const alive = await store.scripts.heartbeat(
      { live: store.keys.liveNodes, reaping: store.keys.reapingNodes, info: store.keys.nodeInfo },
      {
        instance: this.instance,
        ttlMs: this.heartbeatTtlMs,
        first: this.#first,
        report: JSON.stringify(this.options.report?.() ?? {}),
      },
    );
    this.#first = false;
    if (alive === 0) {
      this.#logger.error(
        { instance: this.instance },
        'this node was declared dead by the cluster (it stalled longer than its heartbeat TTL); dropping its sockets',
      );
      this.options.onFenced?.();
    }
  }

  /**
   * Stops beating and leaves the cluster. With `unregistered` (every connection of this node was unregistered) it
   * leaves at once; otherwise it declares itself dead now, so that a survivor reaps what is left at its next sweep
   * (the node index lives in Redis, written by the same scripts that register connections).
   */
  async close(unregistered = true): Promise<void> {
    await this.#loop.stop();
    const { store } = this.options;
    if (unregistered) {
      await store.redis.zrem(store.keys.liveNodes, this.instance);
      await store.redis.hdel(store.keys.nodeInfo, this.instance);
    } else {
      await store.redis.zadd(store.keys.liveNodes, 0, this.instance);
    }
  }
}
