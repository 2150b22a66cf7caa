import type { StoreContext } from '../context.js';
import type { MessageInfo } from '../types.js';

/** Cluster-wide message counters, kept by the scripts. `pending` = pushed − delivered − expired. */
export interface MessageStats {
  pushed: number;
  delivered: number;
  expired: number;
  pending: number;
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

  async status(id: string): Promise<MessageInfo | null> {
    const { bucketCount } = this.ctx.keys;
    const home = Number.parseInt(id.slice(0, id.indexOf('.')), 36);
    if (Number.isInteger(home) && home >= 0 && home < bucketCount) {
      const info = await this.#read(home, id);
      if (info) return info;
    }
    // Ids chosen by the pusher carry no bucket: look in every bucket at once.
    const all = await Promise.all(
      Array.from({ length: bucketCount }, (_, b) => (b === home ? null : this.#read(b, id))),
    );
    return all.find((info) => info) ?? null;
  }

  async #read(bucket: number, id: string): Promise<MessageInfo | null> {
    const [token, st, exp, at] = await this.ctx.redis.hmget(
      this.ctx.keys.message(bucket, id),
      't',
      'st',
      'exp',
      'at',
    );
    if (!token) return null;
    if (st === 'd') return { id, token, status: 'delivered', deliveredAt: Number(at) };
    if (st === 'p' && Number(exp) > Date.now()) return { id, token, status: 'pending' };
    return { id, token, status: 'expired' };
  }
}
