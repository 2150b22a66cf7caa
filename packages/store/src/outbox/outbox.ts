import type { StoreContext } from '../context.js';
import { storeDefaults } from '../defaults.js';
import { withGroup } from '../messages/message-ids.js';
import type { OutboxItem, Receipt, SessionEvent } from '../types.js';

/**
 * Decodes one outbox stream entry: field `e` holds one session event (JSON written by a script); `a` the
 * deliveredAt of the receipts one acknowledgement call settled, followed by each receipt's head and data (ack.lua);
 * `r` the JSON array of receipts (ack-by-data.lua).
 */
export function decodeOutboxEntry(bucket: number, entryId: string, fields: string[]): OutboxItem {
  const [field, json = 'null'] = fields;
  if (field === 'a') {
    const receipts: Receipt[] = [];
    for (let i = 2; i + 1 < fields.length; i += 2)
      receipts.push(
        withGroup(JSON.parse(`${fields[i]},"data":${fields[i + 1]},"deliveredAt":${json}}`) as Receipt),
      );
    return { kind: 'receipts', bucket, entryId, receipts };
  }
  if (field === 'r')
    return { kind: 'receipts', bucket, entryId, receipts: (JSON.parse(json) as Receipt[]).map(withGroup) };
  return { kind: 'event', bucket, entryId, event: JSON.parse(json) as SessionEvent };
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
    return entries.map(([entryId, fields]) => decodeOutboxEntry(bucket, entryId, fields));
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

  /** The dashboard's short feed of what went by: the last `perRound` records of these items, capped at `keep`. */
  async appendFeed(items: readonly OutboxItem[], perRound: number, keep: number): Promise<void> {
    const feed: string[] = [];
    for (let i = items.length - 1; i >= 0 && feed.length < perRound; i--) {
      const item = items[i] as OutboxItem;
      if (item.kind === 'event') feed.push(JSON.stringify(item.event));
      else
        for (let j = item.receipts.length - 1; j >= 0 && feed.length < perRound; j--)
          feed.push(JSON.stringify({ type: 'receipt', ...item.receipts[j], data: undefined }));
    }
    if (feed.length === 0) return;
    const key = this.ctx.keys.recentFeed;
    await this.ctx.redis.lpush(key, ...feed.reverse());
    await this.ctx.redis.ltrim(key, 0, keep - 1);
  }

  /** The latest feed items, newest first. */
  async readFeed(limit: number): Promise<unknown[]> {
    const items = await this.ctx.redis.lrange(this.ctx.keys.recentFeed, 0, limit - 1);
    return items.map((text) => JSON.parse(text) as unknown);
  }
}
