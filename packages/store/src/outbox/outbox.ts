import type { StoreContext } from '../context.js';
import { storeDefaults } from '../defaults.js';
import type { OutboxItem, Receipt, SessionEvent } from '../types.js';

interface RawReceipt extends Omit<Receipt, 'data'> {
  type: 'receipt';
  data: string | false;
}

/** Decodes one outbox stream entry (`e` = JSON written by a script). */
export function decodeOutboxEntry(bucket: number, entryId: string, json: string): OutboxItem {
  const raw = JSON.parse(json) as (SessionEvent & { type: SessionEvent['type'] }) | RawReceipt;
  if (raw.type === 'receipt') {
    const { type: _type, data, ...rest } = raw;
    const receipt: Receipt = {
      ...rest,
      data: typeof data === 'string' ? (JSON.parse(data) as unknown) : null,
    };
    return { kind: 'receipt', bucket, entryId, receipt };
  }
  return { kind: 'event', bucket, entryId, event: raw };
}

/**
 * The per-bucket outboxes (transactional outbox pattern): the scripts append session events and receipts to
 * the bucket's stream in the same atomic step as the change they describe; relays move them to BullMQ and
 * delete them. Entries a dead node left behind are found by their age.
 */
export class Outbox {
  constructor(private readonly ctx: StoreContext) {}

  /** Entries of a bucket older than `olderThanMs` (left behind by a node that died before relaying). */
  async readStale(bucket: number, olderThanMs: number, count: number = storeDefaults.staleOutboxBatch) {
    const entries = await this.ctx.redis.xrange(
      this.ctx.keys.bucket(bucket).outbox,
      '-',
      String(Date.now() - olderThanMs),
      'COUNT',
      count,
    );
    return entries.map(([entryId, fields]) => decodeOutboxEntry(bucket, entryId, fields[1] ?? 'null'));
  }

  /** Takes the bucket's recovery lease for `ms` (one node relays a bucket's stale entries at a time). */
  async leaseForRecovery(bucket: number, instance: string, ms: number): Promise<boolean> {
    const lease = await this.ctx.redis.set(this.ctx.keys.bucket(bucket).relayLease, instance, 'PX', ms, 'NX');
    return lease === 'OK';
  }

  /** Deletes relayed entries. */
  async delete(bucket: number, entryIds: string[]): Promise<void> {
    if (entryIds.length > 0) await this.ctx.redis.xdel(this.ctx.keys.bucket(bucket).outbox, ...entryIds);
  }

  /** The dashboard's short feed of what went by: capped, newest first, without message data. */
  async appendFeed(items: readonly OutboxItem[], keep: number): Promise<void> {
    const feed = items.map((item) =>
      JSON.stringify(
        item.kind === 'event' ? item.event : { type: 'receipt', ...item.receipt, data: undefined },
      ),
    );
    if (feed.length === 0) return;
    const key = this.ctx.keys.recentFeed;
    await this.ctx.redis.lpush(key, ...feed);
    await this.ctx.redis.ltrim(key, 0, keep - 1);
  }

  /** The latest feed items, newest first. */
  async readFeed(limit: number): Promise<unknown[]> {
    const items = await this.ctx.redis.lrange(this.ctx.keys.recentFeed, 0, limit - 1);
    return items.map((text) => JSON.parse(text) as unknown);
  }
}
