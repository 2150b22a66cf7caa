import { BackgroundLoop } from './background-loop.js';
import { ExpiryNotifications, type NotificationMode } from './expiry-notifications.js';
import { silentLogger, type Logger } from './logger.js';
import { reapDeadNodes } from './node-registry.js';
import type { SessionStore } from './session-store.js';
import type { EventItem } from './session-store.js';

export interface SweeperOptions {
  store: SessionStore;
  /** Grace given to sessions left without connections by a dead node. */
  graceMs: number;
  /** How often every bucket is checked for due sessions and the cluster for dead nodes. Default 1000 ms. */
  intervalMs?: number;
  /** Keyspace notifications as a fast path. Default `'auto'`. */
  notifications?: NotificationMode;
  logger?: Logger;
  /** Receives the `session.ended` events of the sessions this node ended (each session ends on one node). */
  onEnded: (events: EventItem[]) => void;
  onReaped?: (reaped: { instance: string; connections: number }) => void;
  onError?: (error: unknown) => void;
}

export const sweeperDefaults = { intervalMs: 1000, notifications: 'auto' } as const;

/**
 * Ends sessions whose grace ran out and reaps the connections of dead nodes. Runs on every node; the Lua
 * scripts make each end happen once. Keyspace notifications only make it sooner.
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
        intervalMs: options.intervalMs ?? sweeperDefaults.intervalMs,
        logger: this.#logger,
        ...(options.onError ? { onError: options.onError } : {}),
      },
      () => this.sweep(),
    );
    this.#notifications = new ExpiryNotifications({
      store: options.store,
      mode: options.notifications ?? sweeperDefaults.notifications,
      logger: this.#logger,
      onGraceExpired: (bucket) => this.#wake(bucket),
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
    const reaped = await reapDeadNodes({ store, graceMs: this.options.graceMs, logger: this.#logger });
    for (const r of reaped) this.options.onReaped?.(r);
  }

  async sweepBucket(bucket: number): Promise<void> {
    for (;;) {
      const ended = await this.options.store.expireDue(bucket);
      if (ended.length === 0) return;
      this.options.onEnded(ended);
      if (ended.length < 200) return;
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
