import { BackgroundLoop, type Logger, type OutboxItem, type SessionStore } from '@io-session/store';
import {
  relayJobOptions,
  relayShardOf,
  safeJobId,
  type RelayQueues,
  type ReceiptsJob,
  type SessionEventJob,
} from '@io-session/worker';
import type { JobsOptions } from 'bullmq';
import { handlerDefaults } from '../defaults.js';

export interface OutboxRelayOptions {
  store: SessionStore;
  queues: RelayQueues;
  /** This node instance: the owner of the outbox leases it takes. */
  instance: string;
  logger: Logger;
  /** Completed jobs BullMQ keeps per queue, for inspection (the worker dedupes without them). */
  keepCompleted: number;
  onError?: (error: unknown) => void;
  /** Called after items reached their queues (for metrics). */
  onRelayed?: (items: OutboxItem[]) => void;
}

/**
 * Moves outbox entries (written atomically by the Lua scripts beside the state change they describe) into the
 * `receipts` and `session-events` queues, then deletes them: the transactional outbox pattern. A node relays
 * what its own scripts appended at once, in batches; entries a dead node left behind are relayed by whichever
 * node takes the bucket's lease (`recover`, every `outboxRecoveryMs`). BullMQ is at-least-once anyway:
 * consumers dedupe.
 */
export class OutboxRelay {
  #pending: OutboxItem[] = [];
  #flushing: Promise<void> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #failures = 0;
  #closed = false;
  readonly #jobOptions: JobsOptions;
  readonly #recovery: BackgroundLoop;

  constructor(private readonly options: OutboxRelayOptions) {
    const keep = options.keepCompleted;
    this.#jobOptions = { ...relayJobOptions, removeOnComplete: keep > 0 ? { count: keep } : true };
    this.#recovery = new BackgroundLoop(
      { name: 'outbox-recovery', intervalMs: handlerDefaults.outboxRecoveryMs, logger: options.logger },
      () => this.recover().then(() => undefined),
    );
  }

  /** How many items wait to be relayed by this node. */
  get backlog(): number {
    return this.#pending.length;
  }

  /** Starts looking for entries dead nodes left behind. */
  start(): void {
    this.#recovery.start();
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
    const { store, instance } = this.options;
    const staleMs = handlerDefaults.outboxStaleMs;
    let total = 0;
    for (let b = 0; b < store.keys.bucketCount; b++) {
      const stale = await store.outbox.readStale(b, staleMs);
      if (stale.length === 0 || !(await store.outbox.leaseForRecovery(b, instance, staleMs))) continue;
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
    await this.#recovery.stop();
    await this.drain();
    this.#closed = true;
    clearTimeout(this.#retryTimer);
  }

  async #flushLoop(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending.splice(0, handlerDefaults.relayRound);
        try {
          await this.#relay(batch);
          this.#failures = 0;
          this.options.onRelayed?.(batch);
        } catch (error) {
          this.#pending.unshift(...batch);
          this.#retryLater(error, batch.length);
          return;
        }
      }
    } finally {
      if (!this.#retryTimer) this.#flushing = undefined;
    }
  }

  #retryLater(error: unknown, items: number): void {
    this.#failures += 1;
    this.options.onError?.(error);
    this.options.logger.warn({ err: error, items }, 'outbox relay failed; retrying');
    if (this.#closed) return;
    const delay = Math.min(100 * 2 ** this.#failures, 5000);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#flushing = this.#flushLoop();
    }, delay);
  }

  /**
   * One job per outbox entry, deduplicated by the entry (BullMQ `deduplication` for `relayDedupeMs`): an entry
   * relayed twice — a node that died before deleting it, a recovery racing a slow relay — is one job on the queue.
   * Each entry goes to its bucket's queue shard (`relayShardOf`), always the same one, where its dedupe id lives.
   */
  async #relay(items: OutboxItem[]): Promise<void> {
    const { queues, store } = this.options;
    const shards = queues.receipts.length;
    const events: BulkJob<SessionEventJob>[][] = queues.events.map(() => []);
    const receipts: BulkJob<ReceiptsJob>[][] = queues.receipts.map(() => []);
    for (const item of items) {
      const shard = relayShardOf(item.bucket, store.keys.bucketCount, shards);
      this.#jobsOf(item, events[shard]!, receipts[shard]!);
    }
    const adds: Promise<unknown>[] = [];
    for (let shard = 0; shard < shards; shard++) {
      if (events[shard]!.length > 0) adds.push(queues.events[shard]!.addBulk(events[shard]!));
      if (receipts[shard]!.length > 0) adds.push(queues.receipts[shard]!.addBulk(receipts[shard]!));
    }
    await Promise.all(adds);
    await store.outbox.appendFeed(items, handlerDefaults.feedPerRound, handlerDefaults.feedKeep);
    const byBucket = new Map<number, string[]>();
    for (const item of items) {
      if (!item.entryId) continue;
      const ids = byBucket.get(item.bucket) ?? [];
      ids.push(item.entryId);
      byBucket.set(item.bucket, ids);
    }
    await Promise.all([...byBucket].map(([bucket, ids]) => store.outbox.delete(bucket, ids)));
  }

  /** The jobs of one outbox item: one session event, or its receipts in jobs of `receiptsPerJob`. */
  #jobsOf(item: OutboxItem, events: BulkJob<SessionEventJob>[], receipts: BulkJob<ReceiptsJob>[]): void {
    const ttl = handlerDefaults.relayDedupeMs;
    if (item.kind === 'event') {
      const id = safeJobId(`${item.event.type}-${item.event.sid}`);
      events.push({
        name: item.event.type,
        data: item.event,
        opts: { ...this.#jobOptions, jobId: id, deduplication: { id, ttl } },
      });
      return;
    }
    for (let i = 0; i < item.receipts.length; i += handlerDefaults.receiptsPerJob) {
      const id = safeJobId(`r-${item.bucket}-${item.entryId}-${i}`);
      const chunk = item.receipts.slice(i, i + handlerDefaults.receiptsPerJob);
      receipts.push({
        name: 'receipts',
        data: { receipts: chunk },
        opts: { ...this.#jobOptions, deduplication: { id, ttl } },
      });
    }
  }
}

type BulkJob<T> = { name: string; data: T; opts: JobsOptions };
