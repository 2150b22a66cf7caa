import type { Redis } from 'ioredis';
import { silentLogger, type Logger } from './logger.js';
import { openRedis, primaries } from './redis.js';
import type { SessionStore } from './session-store.js';

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
 * stays the guarantee. Subscribes on every primary (events are node-local on Redis Cluster).
 */
export class ExpiryNotifications {
  #subscribers: Redis[] = [];
  enabled = false;

  constructor(private readonly options: ExpiryNotificationsOptions) {}

  async start(): Promise<boolean> {
    if ((this.options.mode ?? 'auto') === 'off') return false;
    const logger = this.options.logger ?? silentLogger;
    const nodes = primaries(this.options.store.redis);
    for (const node of nodes) {
      if (!(await ensureExpiredEvents(node, logger))) return false;
    }
    const db = (nodes[0]?.options.db as number | undefined) ?? 0;
    const channel = `__keyevent@${db}__:expired`;
    for (const node of nodes) {
      const sub = openRedis(node, { connectionName: 'ios-expiry-sub', maxRetriesPerRequest: null }) as Redis;
      sub.on('error', (err: unknown) => logger.debug({ err }, 'expiry subscriber error'));
      sub.on('message', (_channel: string, key: string) => {
        const bucket = this.options.store.keys.parseGraceMarker(key);
        if (bucket !== undefined) this.options.onGraceExpired(bucket);
      });
      await sub.subscribe(channel);
      this.#subscribers.push(sub);
    }
    this.enabled = true;
    return true;
  }

  async close(): Promise<void> {
    await Promise.all(this.#subscribers.map((sub) => sub.quit().catch(() => sub.disconnect())));
    this.#subscribers = [];
  }
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
