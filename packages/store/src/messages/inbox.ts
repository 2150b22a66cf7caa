import type { StoreContext } from '../context.js';
import { storeDefaults } from '../defaults.js';
import type { PendingMessage } from '../types.js';
import { splitBody } from './trace-context.js';

/** A session's inbox, read in pages: for a connection replaying it, and for a node filling a gap in its pushes. */
export class Inbox {
  constructor(private readonly ctx: StoreContext) {}

  /**
   * Pending messages of `token` with seq ≥ `from`, oldest first, one page. @returns null when the session ended;
   * `seq` is the session's last push sequence, `next` where the next page starts (`seq + 1`: nothing left). A page
   * may hold fewer messages than asked, or none, when it met many settled ones: read on from `next`.
   */
  read(
    token: string,
    from: number,
    page: number = storeDefaults.replayPage,
  ): Promise<{ seq: number; next: number; pending: PendingMessage[] } | null> {
    const k = this.ctx.keys.session(token);
    const scan = storeDefaults.inboxSpanFactor * this.ctx.maxPending;
    return this.ctx.scripts.readPending(k, { token, from, page, scan }, this.ctx.status);
  }

  /** One pending message of `token` by id (a connection acknowledging what it got on an earlier one). */
  async find(token: string, id: string): Promise<PendingMessage | null> {
    const b = this.ctx.keys.session(token);
    const at = await this.ctx.redis.hget(b.pendingIds, id);
    const bar = at?.indexOf('|') ?? -1;
    if (!at || at.slice(bar + 1) !== token) return null;
    const seq = Number(at.slice(0, bar));
    const packed = await this.ctx.redis.hget(b.pending, `${seq}|${token}`);
    if (!packed) return null;
    // "<ts>|<exp>|<#id>|<id><data>" (lua/includes/pending.lua)
    const [ts = '0', exp = '0', n = '0'] = packed.split('|', 3);
    const start = ts.length + exp.length + n.length + 3;
    // The id's length is stored in bytes; the id itself is known here, so slice by its length in characters.
    return { seq, id, ts: Number(ts), ...splitBody(packed.slice(start + id.length)) };
  }

  /** The last push sequence of each token (undefined: no live session), one read per bucket. */
  async sequences(tokens: readonly string[]): Promise<Map<string, number | undefined>> {
    const byBucket = new Map<number, string[]>();
    for (const token of tokens) {
      const b = this.ctx.keys.bucketOf(token);
      const list = byBucket.get(b);
      if (list) list.push(token);
      else byBucket.set(b, [token]);
    }
    const out = new Map<string, number | undefined>();
    await Promise.all(
      [...byBucket].map(async ([bucket, list]) => {
        const values = await this.ctx.redis.hmgetBuffer(this.ctx.keys.bucket(bucket).route, ...list);
        // A route entry starts with the session's last seq, a big-endian double (lua/includes/route.lua).
        list.forEach((token, i) => out.set(token, values[i]?.readDoubleBE(0)));
      }),
    );
    return out;
  }
}
