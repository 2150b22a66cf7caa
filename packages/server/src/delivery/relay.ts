import {
  BackgroundLoop,
  listNodes,
  type Logger,
  type OutboxItem,
  type SessionStore,
} from '@io-session/store';
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
import type { NodeTracing } from '../tracing/node-tracing.js';

export interface OutboxRelayOptions {
  store: SessionStore;
  queues: RelayQueues;
  /** This node instance: the owner of the outbox leases it takes. */
  instance: () => string;
  logger: Logger;
  /** Completed jobs BullMQ keeps per queue, for inspection (the worker dedupes without them). */
  keepCompleted: number;
  /** How long the queues remember a relayed entry (BullMQ deduplication), in ms. Default `handlerDefaults.relayDedupeMs`. */
  dedupeMs?: number;
  /** Items held in memory at most. Default `handlerDefaults.maxRelayPending`. */
  maxPending?: number;
  onError?: (error: unknown) => void;
  /** Called after items reached their queues (for metrics). */
  onRelayed?: (items: OutboxItem[]) => void;
  /** Called with the items left in the Redis outbox because the relay's memory was full (for a metric). */
  onDeferred?: (items: number) => void;
  /** When tracing is on: a receipts job carries the trace of its receipts (bullmq-otel job metadata). */
  tracing?: NodeTracing | undefined;
}

/** Where an entry's id says it was written (Redis clock, ms). */
function entryTime(entryId: string): number {
  return Number(entryId.slice(0, entryId.indexOf('-')));
}

/**
 * Moves outbox entries (written atomically by the Lua scripts beside the state change they describe) into the
 * `receipts` and `session-events` queues, then deletes them: the transactional outbox pattern. A node relays
 * what its own scripts appended at once, in batches, retrying with a capped backoff while the queue side is away;
 * what it holds in memory is bounded (`maxPending`), the rest waits in Redis. Entries a dead node left behind
 * are relayed by whichever node takes the bucket's lease (`recover`): only entries older than `outboxStaleMs` and
 * older than every live node's oldest entry still waiting in its relay (each node reports it with its heartbeat),
 * so a slow live node's entries are never relayed a second time. BullMQ is at-least-once anyway: consumers dedupe.
 */
export class OutboxRelay {
  #pending: OutboxItem[] = [];
  /** `<bucket>/<entry id>` of every item in `#pending`: recovery never enqueues an entry twice. */
  readonly #held = new Set<string>();
  #flushing: Promise<void> | undefined;
  #retry: { timer: NodeJS.Timeout; fired: Promise<void>; fire: () => void } | undefined;
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

  /** When the oldest entry this relay still holds was written (Redis clock, ms), reported with the heartbeat. */
  get oldestHeld(): number | undefined {
    let oldest: number | undefined;
    for (const item of this.#pending) {
      const at = item.entryId ? entryTime(item.entryId) : NaN;
      if (Number.isFinite(at) && (oldest === undefined || at < oldest)) oldest = at;
    }
    return oldest;
  }

  /** Starts looking for entries dead nodes left behind. */
  start(): void {
    this.#recovery.start();
  }

  enqueue(items: OutboxItem[]): void {
    const room = (this.options.maxPending ?? handlerDefaults.maxRelayPending) - this.#pending.length;
    const fresh = items.filter((i) => !i.entryId || !this.#held.has(`${i.bucket}/${i.entryId}`));
    const taken = fresh.slice(0, Math.max(0, room));
    if (fresh.length > taken.length) this.options.onDeferred?.(fresh.length - taken.length);
    if (taken.length === 0) return;
    for (const i of taken) if (i.entryId) this.#held.add(`${i.bucket}/${i.entryId}`);
    this.#pending.push(...taken);
    if (!this.#flushing && !this.#retry) this.#flushing = this.#flushLoop();
  }

  /** Resolves once everything enqueued so far has reached its queue (waiting out the backoff between tries). */
  async drain(): Promise<void> {
    while (!this.#closed && (this.#pending.length > 0 || this.#flushing || this.#retry)) {
      if (this.#flushing) await this.#flushing;
      else if (this.#retry) await this.#retry.fired;
      else this.#flushing = this.#flushLoop();
    }
  }

  /** Relays stale entries no live node still holds, of every bucket whose lease this node can take. */
  async recover(): Promise<number> {
    const { store } = this.options;
    const staleMs = handlerDefaults.outboxStaleMs;
    const until = await this.#recoveryHorizon(staleMs);
    let total = 0;
    for (let b = 0; b < store.keys.bucketCount; b++) {
      const stale = await store.outbox.readUntil(b, until);
      const fresh = stale.filter((i) => !this.#held.has(`${i.bucket}/${i.entryId}`));
      if (fresh.length === 0) continue;
      if (!(await store.outbox.leaseForRecovery(b, this.options.instance(), staleMs))) continue;
      this.options.logger.warn(
        { bucket: b, entries: fresh.length },
        'relaying outbox entries a dead node left behind',
      );
      this.enqueue(fresh);
      total += fresh.length;
    }
    await this.drain();
    return total;
  }

  /** Entries up to this time are nobody's: older than `staleMs` and than every other live node's oldest held entry. */
  async #recoveryHorizon(staleMs: number): Promise<number> {
    let until = Date.now() - staleMs;
    const self = this.options.instance();
    for (const node of await listNodes(this.options.store)) {
      const held = node.info.relayOldest;
      if (node.instance !== self && typeof held === 'number') until = Math.min(until, held - 1);
    }
    return until;
  }

  /** One last try at what is held (at once, no backoff); what stays unrelayed is recovered by a survivor. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#retry?.fire();
    await this.#recovery.stop();
    if (this.#pending.length > 0 && !this.#flushing) this.#flushing = this.#flushLoop();
    await this.#flushing;
  }

  async #flushLoop(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending.splice(0, handlerDefaults.relayRound);
        try {
          await this.#relay(batch);
          this.#failures = 0;
          for (const i of batch) if (i.entryId) this.#held.delete(`${i.bucket}/${i.entryId}`);
          this.options.onRelayed?.(batch);
        } catch (error) {
          this.#pending.unshift(...batch);
          this.#retryLater(error, batch.length);
          return;
        }
      }
    } finally {
      this.#flushing = undefined;
    }
  }

  #retryLater(error: unknown, items: number): void {
    this.#failures += 1;
    this.options.onError?.(error);
    this.options.logger.warn({ err: error, items }, 'outbox relay failed; retrying');
    if (this.#closed) return;
    const { relayRetryMs, relayRetryMaxMs } = handlerDefaults;
    const delay = Math.min(relayRetryMs * 2 ** (this.#failures - 1), relayRetryMaxMs);
    let fire = (): void => undefined;
    const fired = new Promise<void>((resolve) => {
      fire = () => {
        if (this.#retry?.fired !== fired) return;
        clearTimeout(this.#retry.timer);
        this.#retry = undefined;
        if (!this.#closed && !this.#flushing) this.#flushing = this.#flushLoop();
        resolve();
      };
    });
    this.#retry = { timer: setTimeout(() => fire(), delay), fired, fire };
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
    const ttl = this.options.dedupeMs ?? handlerDefaults.relayDedupeMs;
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
      const telemetry = this.options.tracing?.receiptsJob(chunk);
      receipts.push({
        name: 'receipts',
        data: { receipts: chunk },
        opts: { ...this.#jobOptions, deduplication: { id, ttl }, ...(telemetry ? { telemetry } : {}) },
      });
    }
  }
}

type BulkJob<T> = { name: string; data: T; opts: JobsOptions };
