/**
 * Every Redis key of io-session is built here and nowhere else (the Lua scripts build the per-bucket keys from a
 * bucket's tag, in exactly these shapes).
 *
 * Sessions are spread over `buckets` hash slots. All keys of one session live in the slot of its bucket, together
 * with that bucket's indexes, pending messages and outbox, so that one Lua script changes a session *and* every
 * index that points at it atomically, on a single Redis and on Redis Cluster alike.
 *
 *   <tag> = <prefix>:{<prefix>.<b>[~<n>]}   (bucketTag: the tags cover the slot space evenly)
 *   <tag>:s:<token>     hash    the session (sid, t0, n, g, d, fc, lc, rb, rr and c:<socketId> fields)
 *   <tag>:g:<token>     string  grace marker; its expiry wakes a sweeper early
 *   <tag>:e:<token>     string  tombstone of the last ended lifetime (a minute): replayed logouts, `prev` links
 *   <tag>:rt            hash    token -> route entry (binary seq, count, lo, recounted, grace + holders text): the
 *                               route index (lua/includes/route.lua)
 *   <tag>:pq            hash    "<seq>|<token>" -> pending message (lua/includes/pending.lua)
 *   <tag>:pid           hash    message id -> "<seq>|<token>" of a pending message
 *   <tag>:st:<slot>     hash    message id -> "d|x|at|token": settled statuses, one key per time slot
 *   <tag>:ni:<inst>     set     tokens with a connection on a node instance (what a reaper needs)
 *   <tag>:due           zset    token -> grace deadline (ms)
 *   <tag>:all           zset    every live token of the bucket (lexicographic pagination)
 *   <tag>:outbox        stream  session events (`e`) and receipt batches (`a` + head/data pairs, or `r`) waiting to
 *                               be relayed to BullMQ (outbox/outbox.ts decodes them)
 *   <tag>:relay         string  lease of the node relaying stale outbox entries
 *   <tag>:stats         hash    cluster-wide counters: pushed, delivered, expired
 *   <tag>:gm:<group>    zset    the bucket's members of a group (score 0: token order, for pages and push pages)
 *   <tag>:sg:<token>    set     the groups of a session (end-session removes its memberships with it)
 *   <prefix>:{<prefix>.nodes}:live      zset    node instance -> heartbeat deadline (ms)
 *   <prefix>:{<prefix>.nodes}:reaping   zset    dead node instance -> lease deadline of its reaper
 *   <prefix>:{<prefix>.nodes}:info      hash    node instance -> its last heartbeat report (JSON)
 *   <prefix>:{<prefix>.nodes}:streak    hash    node instance -> "<streak start>:<last heartbeat>" (ms): the
 *                                               liveness rule's evidence (lua/claim-dead-node-3.lua)
 *   <prefix>:{<prefix>.n.<inst>}:route  channel sharded pub/sub channel of pushes routed to a node instance
 *   <prefix>:{<prefix>.feed}:recent     list    the latest relayed receipts and session events (capped)
 *   <prefix>:{<prefix>.meta}:config     hash    cluster-wide settings every node must agree on
 *
 * BullMQ builds its own keys under the prefix `{<prefix>}` (queue shard 0) and `{<prefix>.q<k>[~<n>]}` (queue shard
 * k of `QUEUE_SHARDS`, queueShardPrefix: spread evenly over the slot space); the worker's dedupe markers are built in
 * packages/worker/src/job-marker-keys.ts. The hot hashes (rt, pq, pid, st:<slot>) also hold a field `~` whose
 * long value keeps Redis from storing them as listpacks (lua/includes/pending.lua).
 */
import calculateSlot from 'cluster-key-slot';
import { bucketOf } from './hash.js';

const SLOTS = 16384;

/**
 * The field every hot hash (rt, pq, pid, st:<slot>) also holds: its long value keeps Redis from storing the hash as
 * a listpack, whose writes cost O(size). Never a token, message id or seq field (lua/includes/pending.lua).
 */
export const HASHTABLE_FIELD = '~';

/**
 * The hash tag of bucket `b` of `buckets`: `<prefix>.<b>`, or `<prefix>.<b>~<n>` with the smallest `n` that puts it
 * in the b-th of `buckets` equal ranges of the 16384 slots. Buckets then cover the slot space evenly, and so spread
 * over a Redis Cluster's primaries as evenly as its slots do (a plain `<prefix>.<b>` lands where CRC16 puts it).
 * Deterministic: every node computes the same tags.
 */
export function bucketTag(prefix: string, b: number, buckets: number): string {
  const plain = `${prefix}.${b}`;
  if (buckets > 256) return plain;
  const low = Math.floor((b * SLOTS) / buckets);
  const high = Math.floor(((b + 1) * SLOTS) / buckets);
  for (let n = 0; ; n++) {
    const tag = n === 0 ? plain : `${plain}~${n}`;
    const slot = calculateSlot(tag);
    if (slot >= low && slot < high) return tag;
  }
}

/**
 * The BullMQ prefix of queue shard `shard` of `shards`: shard 0 is `{<prefix>}` (the one queue of every earlier
 * version, so that plain BullMQ producers and consumers of it keep working); shard k is `{<prefix>.q<k>[~<n>]}`,
 * the smallest `n` putting it in the k-th of `shards` equal slot ranges counted from shard 0's slot. The shards'
 * slots are then evenly spaced, and spread over a Redis Cluster's primaries as its slots do.
 */
export function queueShardPrefix(prefix: string, shard: number, shards: number): string {
  if (shard === 0) return `{${prefix}}`;
  const start = calculateSlot(prefix);
  const low = Math.floor((shard * SLOTS) / shards);
  const high = Math.floor(((shard + 1) * SLOTS) / shards);
  const plain = `${prefix}.q${shard}`;
  if (shards > 256) return `{${plain}}`;
  for (let n = 0; ; n++) {
    const tag = n === 0 ? plain : `${plain}~${n}`;
    const offset = (calculateSlot(tag) - start + SLOTS) % SLOTS;
    if (offset >= low && offset < high) return `{${tag}}`;
  }
}

export interface BucketKeys {
  readonly bucket: number;
  /** `<prefix>:{<prefix>.<b>}`: the scripts build the bucket's other keys from it. */
  readonly tag: string;
  readonly due: string;
  readonly all: string;
  readonly route: string;
  readonly pending: string;
  readonly pendingIds: string;
  readonly outbox: string;
  readonly relayLease: string;
  readonly stats: string;
}

export interface SessionKeys extends BucketKeys {
  readonly session: string;
  readonly graceMarker: string;
}

/** Builds every key for one key prefix and bucket count. */
export class Keys {
  readonly #buckets: BucketKeys[];

  constructor(
    readonly prefix: string,
    readonly bucketCount: number,
  ) {
    this.#buckets = Array.from({ length: bucketCount }, (_, bucket) => {
      const tag = `${prefix}:{${bucketTag(prefix, bucket, bucketCount)}}`;
      return {
        bucket,
        tag,
        due: `${tag}:due`,
        all: `${tag}:all`,
        route: `${tag}:rt`,
        pending: `${tag}:pq`,
        pendingIds: `${tag}:pid`,
        outbox: `${tag}:outbox`,
        relayLease: `${tag}:relay`,
        stats: `${tag}:stats`,
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
    const b = this.bucket(this.bucketOf(token));
    return { ...b, session: `${b.tag}:s:${token}`, graceMarker: `${b.tag}:g:${token}` };
  }

  /** The settled-status key of a bucket's time slot. */
  statusSlot(bucket: number, slot: number): string {
    return `${this.bucket(bucket).tag}:st:${slot}`;
  }

  /** A group's members among a bucket's sessions (the scripts build it as `<tag>:gm:<group>`). */
  groupMembers(bucket: number, group: string): string {
    return `${this.bucket(bucket).tag}:gm:${group}`;
  }

  /** The groups a session belongs to, in its bucket (`<tag>:sg:<token>`). */
  sessionGroups(token: string): string {
    return `${this.bucket(this.bucketOf(token)).tag}:sg:${token}`;
  }

  /** The tokens a node instance holds connections of, in one bucket. */
  nodeIndex(bucket: number, instance: string): string {
    return `${this.bucket(bucket).tag}:ni:${instance}`;
  }

  /** Parses a grace-marker key (from a keyspace notification) back into its bucket. */
  parseGraceMarker(key: string): number | undefined {
    const head = `${this.prefix}:{${this.prefix}.`;
    if (!key.startsWith(head)) return undefined;
    const close = key.indexOf('}:g:', head.length);
    if (close < 0) return undefined;
    const inner = key.slice(head.length, close);
    const tilde = inner.indexOf('~');
    const b = Number(tilde < 0 ? inner : inner.slice(0, tilde));
    if (this.#buckets[b]?.tag !== `${this.prefix}:{${this.prefix}.${inner}}`) return undefined;
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

  get nodeStreaks(): string {
    return `${this.prefix}:{${this.prefix}.nodes}:streak`;
  }

  /** The keys of the liveness scripts (heartbeat, claim-dead-node), in one slot. */
  get nodes(): { live: string; reaping: string; info: string; streak: string } {
    return {
      live: this.liveNodes,
      reaping: this.reapingNodes,
      info: this.nodeInfo,
      streak: this.nodeStreaks,
    };
  }

  /** The sharded channel pushes to a node instance travel on (hash-tagged per instance: spread over shards). */
  routeChannel(instance: string): string {
    return `${this.prefix}:{${this.prefix}.n.${instance}}:route`;
  }

  get recentFeed(): string {
    return `${this.prefix}:{${this.prefix}.feed}:recent`;
  }

  get config(): string {
    return `${this.prefix}:{${this.prefix}.meta}:config`;
  }

  /** The BullMQ prefix of queue shard 0: hash-tagged so that every key of a queue shares one slot on Redis Cluster. */
  get queuePrefix(): string {
    return `{${this.prefix}}`;
  }

  /** The BullMQ prefix of queue shard `shard` of `shards` ({@link queueShardPrefix}). */
  queueShardPrefix(shard: number, shards: number): string {
    return queueShardPrefix(this.prefix, shard, shards);
  }
}
