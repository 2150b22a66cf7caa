import type { StoreContext } from '../context.js';
import type { MessageInfo } from '../types.js';

/** Cluster-wide message counters, kept by the scripts. `pending` = pushed − delivered − expired. */
export interface MessageStats {
  pushed: number;
  delivered: number;
  expired: number;
  pending: number;
}

/** The exp field of a packed pending message ("<ts>|<exp>|…", lua/includes/pending.lua). */
function expOf(packed: string): number {
  const first = packed.indexOf('|');
  return Number(packed.slice(first + 1, packed.indexOf('|', first + 1)));
}

/** What is known of messages: one message's status (`GET /v1/messages/:id`) and the cluster's counters. */
export class MessageStatus {
  constructor(private readonly ctx: StoreContext) {}

  /** Sums the counters of every bucket. */
  async stats(): Promise<MessageStats> {
    const { keys, redis } = this.ctx;
    const all = await Promise.all(
      Array.from({ length: keys.bucketCount }, (_, b) =>
        redis.hmget(keys.bucket(b).stats, 'pushed', 'delivered', 'expired'),
      ),
    );
    const sum = { pushed: 0, delivered: 0, expired: 0 };
    for (const [p, d, e] of all) {
      sum.pushed += Number(p ?? 0);
      sum.delivered += Number(d ?? 0);
      sum.expired += Number(e ?? 0);
    }
    return { ...sum, pending: Math.max(0, sum.pushed - sum.delivered - sum.expired) };
  }

  /**
   * Ids the node made carry their bucket (one lookup); ids an app chose are looked up in every bucket at once.
   * `token`, when the caller knows it, narrows the lookup to that token's bucket.
   */
  async status(id: string, token?: string): Promise<MessageInfo | null> {
    const { bucketCount } = this.ctx.keys;
    const home =
      token !== undefined ? this.ctx.keys.bucketOf(token) : Number.parseInt(id.slice(0, id.indexOf('.')), 36);
    if (Number.isInteger(home) && home >= 0 && home < bucketCount) {
      const info = await this.#read(home, id);
      if (info || token !== undefined) return info;
    }
    const all = await Promise.all(
      Array.from({ length: bucketCount }, (_, b) => (b === home ? null : this.#read(b, id))),
    );
    return all.find((info) => info) ?? null;
  }

  async #read(bucket: number, id: string): Promise<MessageInfo | null> {
    const { keys, redis, status } = this.ctx;
    const b = keys.bucket(bucket);
    const pending = await redis.hget(b.pendingIds, id);
    if (pending) {
      const bar = pending.indexOf('|');
      const token = pending.slice(bar + 1);
      const packed = await redis.hget(b.pending, `${pending.slice(0, bar)}|${token}`);
      if (packed) return { id, token, status: expOf(packed) > Date.now() ? 'pending' : 'expired' };
    }
    const slot = Math.floor(Date.now() / status.slotMs);
    const records = await Promise.all(
      [slot + 1, slot, slot - 1, slot - 2].map((s) => redis.hget(keys.statusSlot(bucket, s), id)),
    );
    const record = records.find((r) => r);
    if (!record) return null;
    const [state = '', at = '0', ...rest] = record.split('|');
    const info: MessageInfo = { id, token: rest.join('|'), status: state === 'd' ? 'delivered' : 'expired' };
    if (state === 'd') info.deliveredAt = Number(at);
    return info;
  }
}
