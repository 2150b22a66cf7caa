import type { Redis } from 'ioredis';
import { silentLogger, type Logger } from '../logger.js';
import { allServers, isCluster, primaries } from '../redis.js';
import type { SessionStore } from '../session-store.js';

/** `auto`: use them, enabling `Ex` with CONFIG SET when needed and allowed; `off`: sweeper only. */
export type NotificationMode = 'auto' | 'off';

export interface ExpiryNotificationsOptions {
  store: SessionStore;
  mode?: NotificationMode;
  logger?: Logger;
  /** Called with the bucket of every grace marker that expired. */
  onGraceExpired: (bucket: number) => void;
}

/**
 * The fast path for grace timeouts: Redis `expired` keyspace events for grace markers. Only an accelerator —
 * events are lost while a subscriber reconnects, lag the TTL, and CONFIG may be forbidden — so the sweeper
 * stays the guarantee. Events are node-local on Redis Cluster: one subscriber per primary, re-synced when
 * the cluster's topology changes (failover, resharding, new primaries).
 */
export class ExpiryNotifications {
  /** host:port of a primary → its subscriber. */
  #subscribers = new Map<string, Redis>();
  #channel = '__keyevent@0__:expired';
  #onRefresh: (() => void) | undefined;
  #syncing: Promise<void> = Promise.resolve();
  enabled = false;

  constructor(private readonly options: ExpiryNotificationsOptions) {}

  async start(): Promise<boolean> {
    if ((this.options.mode ?? 'auto') === 'off') return false;
    const { redis } = this.options.store;
    for (const server of allServers(redis)) {
      if (!(await ensureExpiredEvents(server, this.#logger))) return false;
    }
    const db = isCluster(redis) ? 0 : ((redis.options.db as number | undefined) ?? 0);
    this.#channel = `__keyevent@${db}__:expired`;
    await this.#sync();
    if (isCluster(redis)) {
      this.#onRefresh = () => {
        this.#syncing = this.#syncing
          .then(() => this.#sync())
          .catch((err: unknown) => {
            this.#logger.warn({ err }, 'could not follow a cluster topology change for expiry notifications');
          });
      };
      redis.on('refresh', this.#onRefresh);
    }
    this.enabled = true;
    return true;
  }

  async close(): Promise<void> {
    if (this.#onRefresh) this.options.store.redis.off('refresh', this.#onRefresh);
    await this.#syncing;
    const subs = [...this.#subscribers.values()];
    this.#subscribers.clear();
    await Promise.all(subs.map((sub) => sub.quit().catch(() => sub.disconnect())));
  }

  get #logger(): Logger {
    return this.options.logger ?? silentLogger;
  }

  /** One subscriber per current primary; new primaries get one (and the setting), gone ones are closed. */
  async #sync(): Promise<void> {
    const current = new Map(
      primaries(this.options.store.redis).map((node) => [endpoint(node), node] as const),
    );
    for (const [key, sub] of this.#subscribers) {
      if (!current.has(key)) {
        this.#subscribers.delete(key);
        sub.disconnect();
      }
    }
    for (const [key, node] of current) {
      if (this.#subscribers.has(key)) continue;
      if (this.enabled) await ensureExpiredEvents(node, this.#logger);
      const sub = node.duplicate({
        connectionName: 'ios-expiry-sub',
        maxRetriesPerRequest: null,
        enableAutoPipelining: false,
      });
      sub.on('error', (err: unknown) => this.#logger.debug({ err }, 'expiry subscriber error'));
      // A restarted Redis forgets runtime CONFIG: set it again whenever the subscriber reconnects.
      sub.on('ready', () => void ensureExpiredEvents(node, this.#logger));
      sub.on('message', (_channel: string, key: string) => {
        const bucket = this.options.store.keys.parseGraceMarker(key);
        if (bucket !== undefined) this.options.onGraceExpired(bucket);
      });
      this.#subscribers.set(key, sub);
      await sub.subscribe(this.#channel);
    }
  }
}

function endpoint(node: Redis): string {
  return `${node.options.host ?? ''}:${node.options.port ?? ''}`;
}

/** Makes sure `notify-keyspace-events` includes expired events; false (with one warning) when it can't. */
async function ensureExpiredEvents(node: Redis, logger: Logger): Promise<boolean> {
  try {
    const [, flags = ''] = (await node.config('GET', 'notify-keyspace-events')) as string[];
    const hasExpired = flags.includes('x') || flags.includes('A');
    if (flags.includes('E') && hasExpired) return true;
    let next = flags.includes('E') ? flags : `${flags}E`;
    if (!hasExpired) next += 'x';
    await node.config('SET', 'notify-keyspace-events', next);
    return true;
  } catch (err) {
    logger.warn(
      { err: (err as Error).message },
      'keyspace notifications unavailable (CONFIG refused); grace timeouts rely on the sweeper alone',
    );
    return false;
  }
}
