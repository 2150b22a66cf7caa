/**
 * Every Redis key of io-session is built here and nowhere else.
 *
 * Sessions are spread over `buckets` hash slots. All keys of one session live in the slot of its bucket,
 * together with that bucket's deadline index, token index and outbox, so that one Lua script can change a
 * session *and* the indexes that point at it atomically, on a single Redis and on Redis Cluster alike.
 *
 *   <prefix>:{<prefix>.<b>}:s:<token>   hash    the session (sid, t0, n, g, d, fc, lc, and c:<socketId> fields)
 *   <prefix>:{<prefix>.<b>}:q:<token>   list    ids of the session's pending pushes, oldest first
 *   <prefix>:{<prefix>.<b>}:g:<token>   string  grace marker; its expiry wakes the sweeper early
 *   <prefix>:{<prefix>.<b>}:m:<id>      hash    one pushed message and its delivery status
 *   <prefix>:{<prefix>.<b>}:due         zset    token -> grace deadline (ms)
 *   <prefix>:{<prefix>.<b>}:all         zset    every live token of the bucket (lexicographic pagination)
 *   <prefix>:{<prefix>.<b>}:outbox      stream  session events and receipts waiting to be relayed to BullMQ
 *   <prefix>:{<prefix>.<b>}:relay       string  lease of the node relaying stale outbox entries
 *   <prefix>:{<prefix>.<b>}:stats       hash    cluster-wide counters: pushed, delivered, expired
 *   <prefix>:{<prefix>.nodes}:live      zset    node instance -> heartbeat deadline (ms)
 *   <prefix>:{<prefix>.nodes}:reaping   zset    dead node instance -> lease deadline of its reaper
 *   <prefix>:{<prefix>.nodes}:info      hash    node instance -> its last heartbeat report (JSON)
 *   <prefix>:{<prefix>.feed}:recent     list    the latest relayed receipts and session events (capped)
 *   <prefix>:{<prefix>.n.<inst>}:tokens set     tokens that have (or had) a connection on a node instance
 *   <prefix>:{<prefix>.meta}:config     hash    cluster-wide settings every node must agree on
 *
 * BullMQ builds its own keys under the prefix `{<prefix>}`; the worker's dedupe markers are built in
 * packages/worker/src/seen-keys.ts.
 */
import { bucketOf } from './hash.js';

export interface BucketKeys {
  readonly tag: string;
  readonly due: string;
  readonly all: string;
  readonly outbox: string;
  readonly relayLease: string;
  readonly stats: string;
  /** Prefix of the per-message hashes of this bucket (`…:m:`); scripts append the message id. */
  readonly messagePrefix: string;
}

export interface SessionKeys extends BucketKeys {
  readonly bucket: number;
  readonly session: string;
  readonly inbox: string;
  readonly graceMarker: string;
}

/** Builds every key for one key prefix and bucket count. */
export class Keys {
  readonly #buckets: BucketKeys[];

  constructor(
    readonly prefix: string,
    readonly bucketCount: number,
  ) {
    this.#buckets = Array.from({ length: bucketCount }, (_, b) => {
      const tag = `${prefix}:{${prefix}.${b}}`;
      return {
        tag,
        due: `${tag}:due`,
        all: `${tag}:all`,
        outbox: `${tag}:outbox`,
        relayLease: `${tag}:relay`,
        stats: `${tag}:stats`,
        messagePrefix: `${tag}:m:`,
      };
    });
  }

  bucketOf(token: string): number {
    return bucketOf(token, this.bucketCount);
  }

  bucket(b: number): BucketKeys {
    const keys = this.#buckets[b];
    if (!keys) throw new RangeError(`bucket ${b} out of range 0..${this.bucketCount - 1}`);
    return keys;
  }

  session(token: string): SessionKeys {
    const bucket = this.bucketOf(token);
    const b = this.bucket(bucket);
    return {
      tag: b.tag,
      due: b.due,
      all: b.all,
      outbox: b.outbox,
      relayLease: b.relayLease,
      stats: b.stats,
      messagePrefix: b.messagePrefix,
      bucket,
      session: `${b.tag}:s:${token}`,
      inbox: `${b.tag}:q:${token}`,
      graceMarker: `${b.tag}:g:${token}`,
    };
  }

  message(bucket: number, id: string): string {
    return `${this.bucket(bucket).messagePrefix}${id}`;
  }

  /** Parses a grace-marker key (from a keyspace notification) back into its bucket. */
  parseGraceMarker(key: string): number | undefined {
    const head = `${this.prefix}:{${this.prefix}.`;
    if (!key.startsWith(head)) return undefined;
    const close = key.indexOf('}:g:', head.length);
    if (close < 0) return undefined;
    const b = Number(key.slice(head.length, close));
    return Number.isInteger(b) && b >= 0 && b < this.bucketCount ? b : undefined;
  }

  get liveNodes(): string {
    return `${this.prefix}:{${this.prefix}.nodes}:live`;
  }

  get reapingNodes(): string {
    return `${this.prefix}:{${this.prefix}.nodes}:reaping`;
  }

  get nodeInfo(): string {
    return `${this.prefix}:{${this.prefix}.nodes}:info`;
  }

  get recentFeed(): string {
    return `${this.prefix}:{${this.prefix}.feed}:recent`;
  }

  nodeTokens(instance: string): string {
    return `${this.prefix}:{${this.prefix}.n.${instance}}:tokens`;
  }

  get config(): string {
    return `${this.prefix}:{${this.prefix}.meta}:config`;
  }

  /** The BullMQ prefix: hash-tagged so that every key of a queue shares one slot on Redis Cluster. */
  get queuePrefix(): string {
    return `{${this.prefix}}`;
  }
}
