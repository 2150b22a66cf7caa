import { BackgroundLoop } from '../background-loop.js';
import { storeDefaults } from '../defaults.js';
import { silentLogger, type Logger } from '../logger.js';
import type { SessionStore } from '../session-store.js';
import type { EventItem } from '../sessions/sessions.js';
import { ExpiryNotifications, type NotificationMode } from './expiry-notifications.js';
import { reapDeadNodes, type ReapedNode, type ReaperIdentity } from './reaper.js';

export interface SweeperOptions {
  store: SessionStore;
  /** This node as a reaper (its NodeRegistry): dead nodes are claimed only as the liveness rule allows. */
  reaper: ReaperIdentity;
  /** Grace given to sessions left without connections by a dead node. */
  graceMs: number;
  /** How often every bucket is checked for due sessions and the cluster for dead nodes. Default `storeDefaults.sweepIntervalMs`. */
  intervalMs?: number;
  /** Keyspace notifications as a fast path. Default `storeDefaults.notifications`. */
  notifications?: NotificationMode;
  logger?: Logger;
  /** Receives the `session.ended` events of the sessions this node ended (each session ends on one node). */
  onEnded: (events: EventItem[]) => void;
  onReaped?: (reaped: ReapedNode) => void;
  /** Called for every keyspace notification received (a metric of the work expiries cause). */
  onNotification?: () => void;
  onError?: (error: unknown) => void;
}

/**
 * Ends sessions whose grace ran out and reaps the connections of dead nodes. Runs on every node; the Lua
 * scripts make each end happen once (expire-sessions.lua, claim-dead-node.lua). The due index is the truth;
 * keyspace notifications only make an end come sooner.
 */
export class Sweeper {
  readonly #loop: BackgroundLoop;
  readonly #notifications: ExpiryNotifications;
  readonly #logger: Logger;
  /** Buckets woken by notifications, swept together on the next microtask. */
  #woken = new Set<number>();
  #wakeScheduled = false;
  /** How late the last ended session was, in ms (for the sweeper-lag metric). */
  lastLagMs = 0;

  constructor(private readonly options: SweeperOptions) {
    this.#logger = options.logger ?? silentLogger;
    this.#loop = new BackgroundLoop(
      {
        name: 'sweeper',
        intervalMs: options.intervalMs ?? storeDefaults.sweepIntervalMs,
        logger: this.#logger,
        ...(options.onError ? { onError: options.onError } : {}),
      },
      () => this.sweep(),
    );
    this.#notifications = new ExpiryNotifications({
      store: options.store,
      mode: options.notifications ?? storeDefaults.notifications,
      logger: this.#logger,
      onGraceExpired: (bucket) => {
        options.onNotification?.();
        this.#wake(bucket);
      },
    });
  }

  get notificationsEnabled(): boolean {
    return this.#notifications.enabled;
  }

  async start(): Promise<void> {
    await this.#notifications.start();
    this.#loop.start();
  }

  /** One full pass: every bucket, then dead nodes. */
  async sweep(): Promise<void> {
    const { store } = this.options;
    await Promise.all(Array.from({ length: store.keys.bucketCount }, (_, b) => this.sweepBucket(b)));
    const { graceMs, reaper } = this.options;
    const reaped = await reapDeadNodes({ store, reaper, graceMs, logger: this.#logger });
    for (const r of reaped) this.options.onReaped?.(r);
  }

  async sweepBucket(bucket: number): Promise<void> {
    for (;;) {
      const ended = await this.options.store.sessions.expireDue(bucket, storeDefaults.expireBatch);
      if (ended.length === 0) return;
      this.options.onEnded(ended);
      if (ended.length < storeDefaults.expireBatch) return;
    }
  }

  async close(): Promise<void> {
    await this.#loop.stop();
    await this.#notifications.close();
  }

  #wake(bucket: number): void {
    this.#woken.add(bucket);
    if (this.#wakeScheduled) return;
    this.#wakeScheduled = true;
    queueMicrotask(() => {
      const buckets = [...this.#woken];
      this.#woken.clear();
      this.#wakeScheduled = false;
      for (const b of buckets) {
        this.sweepBucket(b).catch((err: unknown) => {
          this.options.onError?.(err);
          this.#logger.warn(
            { err, bucket: b },
            'sweep after notification failed; the periodic sweep will retry',
          );
        });
      }
    });
  }
}
