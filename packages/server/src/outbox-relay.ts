import type { Logger, OutboxItem, SessionStore } from '@io-session/store';
import { CAPPED_BACKOFF, safeJobId, type ReceiptsJob, type SessionEventJob } from '@io-session/worker';
import type { JobsOptions, Queue } from 'bullmq';

export interface OutboxRelayOptions {
  store: SessionStore;
  receipts: Queue<ReceiptsJob>;
  events: Queue<SessionEventJob>;
  /** This node instance: the owner of the outbox leases it takes. */
  instance: string;
  logger: Logger;
  /** Most receipts carried by one `receipts` job. Default 500. */
  batchSize?: number;
  /** Outbox entries older than this were left by a node that died before relaying them. Default 15000 ms. */
  staleMs?: number;
  onError?: (error: unknown) => void;
  /** Called after items reached their queues (for metrics). */
  onRelayed?: (items: OutboxItem[]) => void;
  /** Completed jobs BullMQ keeps per queue, for inspection (the worker dedupes without them). Default 0. */
  keepCompleted?: number;
}

export const outboxRelayDefaults = { batchSize: 500, staleMs: 15_000 } as const;

/** Job options shared by every job a node adds: retried with backoff by the worker, kept a while for dedup. */
export const relayJobOptions: JobsOptions = {
  attempts: 1_000_000,
  backoff: { type: CAPPED_BACKOFF },
  // Completed jobs go at once: a retained job costs ~1 KB of Redis per session event or receipt batch. A job
  // relayed again after a crash is then accepted again; the worker's dedupe drops the repeat.
  removeOnComplete: true,
  removeOnFail: { age: 7 * 24 * 3600 },
};

/**
 * Moves outbox entries (written atomically by the Lua scripts beside the state change they describe) into
 * the `receipts` and `session-events` queues, then deletes them: the transactional outbox pattern.
 * A node relays what its own scripts appended at once, in batches; entries a dead node left behind are
 * relayed by whichever node takes the bucket's lease. BullMQ is at-least-once anyway: consumers dedupe.
 */
export class OutboxRelay {
  #pending: OutboxItem[] = [];
  #flushing: Promise<void> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #failures = 0;
  #closed = false;
  readonly #jobOptions: JobsOptions;

  constructor(private readonly options: OutboxRelayOptions) {
    const keep = options.keepCompleted ?? 0;
    this.#jobOptions = { ...relayJobOptions, removeOnComplete: keep > 0 ? { count: keep } : true };
  }

  /** How many items wait to be relayed by this node. */
  get backlog(): number {
    return this.#pending.length;
  }

  enqueue(items: OutboxItem[]): void {
    if (items.length === 0) return;
    this.#pending.push(...items);
    if (!this.#flushing && !this.#retryTimer) this.#flushing = this.#flushLoop();
  }

  /** Resolves once everything enqueued so far has reached its queue (or the relay gave up on closing). */
  async drain(): Promise<void> {
    while (this.#pending.length > 0 || this.#flushing) {
      if (this.#retryTimer) {
        clearTimeout(this.#retryTimer);
        this.#retryTimer = undefined;
        this.#flushing = this.#flushLoop();
      }
      await this.#flushing;
      if (this.#closed && this.#pending.length > 0) return;
    }
  }

  /** Relays stale entries of every bucket whose lease this node can take. */
  async recover(): Promise<number> {
    const { store } = this.options;
    const staleMs = this.options.staleMs ?? outboxRelayDefaults.staleMs;
    let total = 0;
    for (let b = 0; b < store.keys.bucketCount; b++) {
      const stale = await store.readStaleOutbox(b, staleMs);
      if (stale.length === 0) continue;
      const lease = await store.redis.set(
        store.keys.bucket(b).relayLease,
        this.options.instance,
        'PX',
        staleMs,
        'NX',
      );
      if (lease !== 'OK') continue;
      this.options.logger.warn(
        { bucket: b, entries: stale.length },
        'relaying outbox entries a node left behind',
      );
      this.enqueue(stale);
      total += stale.length;
    }
    await this.drain();
    return total;
  }

  async close(): Promise<void> {
    await this.drain();
    this.#closed = true;
    clearTimeout(this.#retryTimer);
  }

  async #flushLoop(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending.splice(0, 5000);
        try {
          await this.#relay(batch);
          this.#failures = 0;
          this.options.onRelayed?.(batch);
        } catch (error) {
          this.#pending.unshift(...batch);
          this.#failures += 1;
          this.options.onError?.(error);
          this.options.logger.warn({ err: error, items: batch.length }, 'outbox relay failed; retrying');
          if (!this.#closed) {
            const delay = Math.min(100 * 2 ** this.#failures, 5000);
            this.#retryTimer = setTimeout(() => {
              this.#retryTimer = undefined;
              this.#flushing = this.#flushLoop();
            }, delay);
          }
          return;
        }
      }
    } finally {
      if (!this.#retryTimer) this.#flushing = undefined;
    }
  }

  async #relay(items: OutboxItem[]): Promise<void> {
    const batchSize = this.options.batchSize ?? outboxRelayDefaults.batchSize;
    const events: { name: string; data: SessionEventJob; opts: JobsOptions }[] = [];
    const receipts: ReceiptsJob['receipts'] = [];
    for (const item of items) {
      if (item.kind === 'event') {
        events.push({
          name: item.event.type,
          data: item.event,
          opts: { ...this.#jobOptions, jobId: safeJobId(`${item.event.type}-${item.event.sid}`) },
        });
      } else {
        receipts.push(item.receipt);
      }
    }
    const adds: Promise<unknown>[] = [];
    if (events.length > 0) adds.push(this.options.events.addBulk(events));
    for (let i = 0; i < receipts.length; i += batchSize) {
      adds.push(
        this.options.receipts.add(
          'receipts',
          { receipts: receipts.slice(i, i + batchSize) },
          this.#jobOptions,
        ),
      );
    }
    await Promise.all(adds);
    // A short feed of what went by, for the dashboard: capped, newest first, without message data.
    const feed = items
      .slice(-20)
      .map((item) =>
        JSON.stringify(
          item.kind === 'event' ? item.event : { type: 'receipt', ...item.receipt, data: undefined },
        ),
      );
    if (feed.length > 0) {
      const key = this.options.store.keys.recentFeed;
      await this.options.store.redis.lpush(key, ...feed);
      await this.options.store.redis.ltrim(key, 0, 199);
    }
    const byBucket = new Map<number, string[]>();
    for (const item of items) {
      if (!item.entryId) continue;
      const ids = byBucket.get(item.bucket) ?? [];
      ids.push(item.entryId);
      byBucket.set(item.bucket, ids);
    }
    await Promise.all([...byBucket].map(([bucket, ids]) => this.options.store.deleteOutbox(bucket, ids)));
  }
}
