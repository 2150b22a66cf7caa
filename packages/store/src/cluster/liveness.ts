import { randomBytes } from 'node:crypto';
import { BackgroundLoop } from '../background-loop.js';
import { storeDefaults } from '../defaults.js';
import { LayoutError } from '../errors.js';
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
   * Called when this node learns that the cluster had declared it dead (it stalled longer than the TTL) and
   * reaped its connections; `instance` is already the new id: the node must listen under it and drop its sockets
   * so that their clients register afresh.
   */
  onFenced?: (fencing: Fencing) => void;
  onError?: (error: unknown) => void;
  /** What the node reports in each heartbeat (shown by `/v1/nodes`). */
  report?: () => Record<string, unknown>;
  /** The layout check of a heartbeat failed: the cluster's Redis holds another layout than this node's. */
  onLayoutError?: (error: LayoutError) => void;
}

/** How a node is known after it was declared dead and fenced itself: its old instance id and its new one. */
export interface Fencing {
  previous: string;
  instance: string;
}

function newInstance(nodeId: string): string {
  return `${nodeId}~${randomBytes(4).toString('hex')}`;
}

/**
 * This node's liveness: its heartbeat, and fencing when it learns it had been declared dead. (The index of the
 * tokens it holds connections of — what a survivor needs to reap them — is kept by the connect scripts.) Whether
 * another node may be declared dead is decided in one place, lua/claim-dead-node-3.lua.
 */
export class NodeRegistry {
  readonly heartbeatTtlMs: number;
  /** Two heartbeats further apart break the streak (`storeDefaults.heartbeatGapShare` of the TTL). */
  readonly heartbeatGapMs: number;
  /** How long this node's unbroken streak of heartbeats is, by Redis's clock (0 until one succeeded). */
  streakMs = 0;
  readonly #loop: BackgroundLoop;
  readonly #logger: Logger;
  #instance: string;
  #first = true;

  constructor(private readonly options: NodeRegistryOptions) {
    this.#instance = newInstance(options.nodeId);
    this.heartbeatTtlMs = options.heartbeatTtlMs ?? storeDefaults.heartbeatTtlMs;
    this.heartbeatGapMs = Math.round(this.heartbeatTtlMs * storeDefaults.heartbeatGapShare);
    this.#logger = options.logger ?? silentLogger;
    this.#loop = new BackgroundLoop(
      {
        name: 'heartbeat',
        intervalMs: options.heartbeatMs ?? storeDefaults.heartbeatMs,
        // A failed heartbeat is retried well within the TTL, however long Redis stays away.
        maxDelayMs: this.heartbeatTtlMs * storeDefaults.heartbeatRetryShare,
        logger: this.#logger,
        ...(options.onError ? { onError: options.onError } : {}),
      },
      () => this.beat(),
    );
  }

  /**
   * `<NODE_ID>~<suffix>`: unique per process start, and new again after the node was fenced, so that neither a
   * restarted node nor a fenced one is ever mistaken for its past self.
   */
  get instance(): string {
    return this.#instance;
  }

  /** Registers the node (first heartbeat) and keeps beating. */
  async start(): Promise<void> {
    await this.beat();
    this.#loop.start();
  }

  async beat(): Promise<void> {
    const result = await this.#heartbeat(this.#instance, this.#first).catch((err: unknown) => {
      this.streakMs = 0;
      throw err;
    });
    this.#first = false;
    this.streakMs = result.streakMs;
    try {
      await this.options.store.verifyLayout();
    } catch (err) {
      if (!(err instanceof LayoutError)) throw err;
      this.options.onLayoutError?.(err);
    }
    if (!result.alive) await this.#fence();
  }

  /**
   * This instance was declared dead (the node stalled longer than the TTL while Redis answered others) and its
   * connections are being reaped. The node goes on under a new instance id, registered before anything uses it;
   * then it drops its sockets (`onFenced`), whose clients register afresh under the new id.
   */
  async #fence(): Promise<void> {
    const previous = this.#instance;
    const instance = newInstance(this.options.nodeId);
    const result = await this.#heartbeat(instance, true);
    this.#instance = instance;
    this.streakMs = result.streakMs;
    this.#logger.error(
      { previous, instance },
      'this node was declared dead by the cluster (it stalled longer than its heartbeat TTL); dropping its sockets and going on as a new instance',
    );
    this.options.onFenced?.({ previous, instance });
  }

  #heartbeat(instance: string, first: boolean): Promise<{ alive: boolean; streakMs: number }> {
    const { store } = this.options;
    return store.scripts.heartbeat(store.keys.nodes, {
      instance,
      ttlMs: this.heartbeatTtlMs,
      first,
      report: JSON.stringify(this.options.report?.() ?? {}),
      gapMs: this.heartbeatGapMs,
    });
  }

  /**
   * Stops beating and leaves the cluster. Redis decides how: when no token is left in this instance's node index
   * (every connection was unregistered) it leaves at once; otherwise it declares itself dead now, so that a survivor
   * reaps what is left. When Redis does not answer, nothing is removed: the heartbeat lapses and a survivor reaps.
   */
  async close(): Promise<void> {
    await this.#loop.stop();
    const { store } = this.options;
    const { live, info, streak } = store.keys.nodes;
    const left = await Promise.all(
      Array.from({ length: store.keys.bucketCount }, (_, b) =>
        store.redis.scard(store.keys.nodeIndex(b, this.#instance)),
      ),
    );
    if (left.some((n) => n > 0)) {
      this.#logger.warn({ instance: this.#instance }, 'leaving connections for a survivor to reap');
      await store.redis.zadd(live, 0, this.#instance);
      return;
    }
    await store.redis.zrem(live, this.#instance);
    await store.redis.hdel(info, this.#instance);
    await store.redis.hdel(streak, this.#instance);
  }
}
