import type { StoreContext } from '../context.js';
import { storeDefaults } from '../defaults.js';
import { parseJson } from '../json.js';
import type { Connection, Protocol, SessionRecord } from '../types.js';
import { decodeCursor, encodeCursor } from './cursor.js';

export interface SessionPage {
  sessions: SessionRecord[];
  /** Cursor of the next page, or null after the last one. */
  next: string | null;
}

/** The protocol a connection field records ("<instance>|<protocol>"). */
function protocolOf(text: string): Protocol {
  return text === '3' ? 3 : text === '2' ? 2 : 1;
}

/** A node instance is `<NODE_ID>~<per-start suffix>`. */
export function nodeIdOf(instance: string): string {
  const tilde = instance.lastIndexOf('~');
  return tilde < 0 ? instance : instance.slice(0, tilde);
}

/** Reading sessions: one, a page of all of them (each live session exactly once), the count. */
export class SessionReads {
  constructor(private readonly ctx: StoreContext) {}

  async getSession(token: string): Promise<SessionRecord | null> {
    return parseSession(token, await this.ctx.redis.hgetall(this.ctx.keys.session(token).session));
  }

  /** Pages through the buckets' `all` indexes in order (`ZRANGEBYLEX`): every live session once. */
  async getSessions(options: { cursor?: string | null; limit?: number } = {}): Promise<SessionPage> {
    const { keys, redis } = this.ctx;
    const limit = Math.max(1, Math.min(options.limit ?? storeDefaults.pageSize, storeDefaults.maxPageSize));
    let [bucket, after] = decodeCursor(options.cursor, keys.bucketCount);
    const tokens: string[] = [];
    while (bucket < keys.bucketCount && tokens.length < limit) {
      const want = limit - tokens.length;
      const page = await redis.zrangebylex(
        keys.bucket(bucket).all,
        after === '' ? '-' : `(${after}`,
        '+',
        'LIMIT',
        0,
        want,
      );
      tokens.push(...page);
      if (page.length < want) {
        bucket += 1;
        after = '';
      } else {
        after = page[page.length - 1] ?? '';
      }
    }
    const records = await Promise.all(tokens.map((token) => this.getSession(token)));
    return {
      sessions: records.filter((r): r is SessionRecord => r !== null),
      next: bucket >= keys.bucketCount ? null : encodeCursor(bucket, after),
    };
  }

  async countSessions(): Promise<number> {
    const { keys, redis } = this.ctx;
    const counts = await Promise.all(
      Array.from({ length: keys.bucketCount }, (_, b) => redis.zcard(keys.bucket(b).all)),
    );
    return counts.reduce((a, c) => a + c, 0);
  }
}

function parseSession(token: string, h: Record<string, string>): SessionRecord | null {
  if (h.sid === undefined) return null;
  const connections: Connection[] = [];
  for (const [field, value] of Object.entries(h)) {
    if (!field.startsWith('c:')) continue;
    const bar = value.lastIndexOf('|');
    const instance = value.slice(0, bar);
    connections.push({
      id: field.slice(2),
      instance,
      nodeId: nodeIdOf(instance),
      protocol: protocolOf(value.slice(bar + 1)),
    });
  }
  const record: SessionRecord = {
    token,
    sid: h.sid,
    createdAt: Number(h.t0),
    connections,
    data: parseJson(h.d),
    status: connections.length > 0 ? 'connected' : 'grace',
  };
  if (connections.length === 0 && h.g) record.graceUntil = Number(h.g);
  return record;
}
