import type { StoreContext } from './context.js';
import { storeDefaults } from './defaults.js';
import { LayoutError } from './errors.js';
import { Groups } from './groups/groups.js';
import { Keys } from './keys.js';
import { Acks } from './messages/acks.js';
import { Inbox } from './messages/inbox.js';
import { Pushes } from './messages/push.js';
import { MessageStatus } from './messages/status.js';
import { Outbox } from './outbox/outbox.js';
import { isCluster, type RedisClient } from './redis.js';
import { Scripts, type StatusArgs } from './scripts/scripts.js';
import { SessionReads } from './sessions/reads.js';
import { Sessions } from './sessions/sessions.js';

/**
 * Version of the Redis layout (keys and what they hold). 1: io-session 0.1 (per-message hashes and per-token
 * lists); 2: per-bucket route index, pending and status structures. A node refuses data of another version.
 */
export const LAYOUT_VERSION = 2;

/**
 * What layout 2 writes in the layout record's `buckets` field, where io-session 0.1 kept its bucket count: not a
 * number, so that a 0.1 node started against this Redis refuses it instead of mixing its layout with ours.
 */
export const LAYOUT_MARK = 'layout-2: see bucketCount';

export interface SessionStoreOptions {
  /** The client every command goes through (a single Redis or a Cluster). Not closed by the store. */
  redis: RedisClient;
  /** Prefix of every key. Default `storeDefaults.prefix`. */
  prefix?: string;
  /** Hash-tagged buckets sessions are spread over; the same on every node. Default `storeDefaults.buckets` (`clusterBuckets` on a Redis Cluster). */
  buckets?: number;
  /**
   * Shards of every BullMQ queue; the same on every node and worker (the layout record holds it). Default
   * `storeDefaults.queueShards` (`clusterQueueShards` on a Redis Cluster).
   */
  queueShards?: number;
  /** How long a delivered or expired message's status stays queryable. Default `storeDefaults.statusRetentionMs`. */
  statusRetentionMs?: number;
  /**
   * Replicas that must have a push before it is acknowledged (Redis `WAIT`). 0 (default): acknowledged once
   * the primary has it — a failover in the next few milliseconds can lose it (replication is asynchronous).
   */
  replicaAcks?: number;
  /** Longest `WAIT` for `replicaAcks`, in ms. Default `storeDefaults.replicaTimeoutMs`. */
  replicaTimeoutMs?: number;
  /** Unacknowledged pushes one session may hold. Default `storeDefaults.maxPendingPerSession`. */
  maxPendingPerSession?: number;
  /** Outbox entries a bucket may hold before pushes are refused. Default `storeDefaults.maxOutboxEntries`. */
  maxOutboxEntries?: number;
}

/**
 * Session state of the whole cluster, in Redis: every mutation is one Lua script (scripts/scripts.ts is the
 * façade over lua/). The store is the sum of its domain modules, each keeping one promise.
 */
export class SessionStore implements StoreContext {
  readonly keys: Keys;
  readonly redis: RedisClient;
  readonly scripts: Scripts;
  readonly clustered: boolean;
  /** Shards of every BullMQ queue (checked against the layout record). */
  readonly queueShards: number;
  readonly status: StatusArgs;
  readonly maxPending: number;
  readonly maxOutboxEntries: number;
  readonly replicaAcks: number;
  readonly replicaTimeoutMs: number;
  /** Connect, disconnect, reap, logout, expire, data. */
  readonly sessions: Sessions;
  /** One session, a page, the count. */
  readonly reads: SessionReads;
  /** Storing pushes. */
  readonly pushes: Pushes;
  /** Reading a session's pending messages in pages. */
  readonly inbox: Inbox;
  /** Settling acknowledgements, each with its one receipt. */
  readonly acks: Acks;
  /** Message status and counters. */
  readonly messages: MessageStatus;
  /** Session events and receipts waiting to be relayed. */
  readonly outbox: Outbox;
  /** Named groups of sessions: membership, pages, group pushes. */
  readonly groups: Groups;

  constructor(options: SessionStoreOptions) {
    this.redis = options.redis;
    const buckets =
      options.buckets ?? (isCluster(this.redis) ? storeDefaults.clusterBuckets : storeDefaults.buckets);
    this.keys = new Keys(options.prefix ?? storeDefaults.prefix, buckets);
    this.clustered = isCluster(this.redis);
    this.queueShards = options.queueShards ?? defaultQueueShards(this.redis);
    const retentionMs = options.statusRetentionMs ?? storeDefaults.statusRetentionMs;
    this.status = { retentionMs, slotMs: Math.max(1, Math.ceil(retentionMs / 2)) };
    this.maxPending = options.maxPendingPerSession ?? storeDefaults.maxPendingPerSession;
    this.maxOutboxEntries = options.maxOutboxEntries ?? storeDefaults.maxOutboxEntries;
    this.replicaAcks = options.replicaAcks ?? storeDefaults.replicaAcks;
    this.replicaTimeoutMs = options.replicaTimeoutMs ?? storeDefaults.replicaTimeoutMs;
    this.scripts = new Scripts(this.redis);
    this.sessions = new Sessions(this);
    this.reads = new SessionReads(this);
    this.pushes = new Pushes(this);
    this.inbox = new Inbox(this);
    this.acks = new Acks(this);
    this.messages = new MessageStatus(this);
    this.outbox = new Outbox(this);
    this.groups = new Groups(this);
  }

  /**
   * Checks that the cluster's Redis holds this node's layout: the same bucket count, and data of this layout
   * version. The first node to start writes the record; every heartbeat checks it again, so a Redis that lost its
   * data cannot let two layouts mix (whoever writes the record first wins, the other node stops).
   *
   * The record is `layout`, `bucketCount`, and `buckets` = {@link LAYOUT_MARK}: io-session 0.1 (layout 1) wrote
   * only `buckets`, a number, and compares it with its own count — it refuses this record (never a number), and a
   * numeric `buckets` without `layout` is 0.1's record, which this node refuses.
   * @throws LayoutError naming BUCKETS or QUEUE_SHARDS, or KEY_PREFIX and the migration.
   */
  async verifyLayout(): Promise<void> {
    const { config, bucketCount, prefix } = this.keys;
    await this.redis.hsetnx(config, 'buckets', LAYOUT_MARK);
    const [legacy] = await this.redis.hmget(config, 'buckets');
    if (legacy !== LAYOUT_MARK && (await this.redis.hget(config, 'layout')) === null)
      throw new LayoutError(
        'KEY_PREFIX',
        `the data under key prefix '${prefix}' was written by io-session v0.1.0 (layout 1); this node writes ` +
          `layout ${LAYOUT_VERSION} and cannot read it: stop every v0.1.0 node and migrate (docs/operating.md ` +
          `"Upgrading from v0.1.0"), or start the new nodes under another KEY_PREFIX`,
      );
    await this.redis.hsetnx(config, 'layout', LAYOUT_VERSION);
    await this.redis.hsetnx(config, 'bucketCount', bucketCount);
    // A record of a version without queue shards gets this node's count: its nodes used shard 0, which stays.
    await this.redis.hsetnx(config, 'queueShards', this.queueShards);
    const [layout, counted, shards] = await this.redis.hmget(config, 'layout', 'bucketCount', 'queueShards');
    if (Number(layout) !== LAYOUT_VERSION) {
      throw new LayoutError(
        'KEY_PREFIX',
        `the data under key prefix '${prefix}' has io-session layout ${layout ?? 1}, this node writes layout ` +
          `${LAYOUT_VERSION}: nodes of both must not mix — see docs/operating.md "Upgrading from v0.1.0", or use ` +
          `another KEY_PREFIX`,
      );
    }
    // A layout-2 record written before `bucketCount` existed keeps the count in `buckets`.
    const buckets = legacy !== LAYOUT_MARK && legacy !== null ? legacy : counted;
    if (Number(buckets) !== bucketCount) {
      throw new LayoutError(
        'BUCKETS',
        `this cluster (key prefix '${prefix}') uses ${buckets} buckets but this node was started with ` +
          `${bucketCount}: start every node with the same BUCKETS, or use another KEY_PREFIX`,
      );
    }
    if (Number(shards) !== this.queueShards) {
      throw new LayoutError(
        'QUEUE_SHARDS',
        `this cluster (key prefix '${prefix}') uses ${shards} queue shards but this node was started with ` +
          `${this.queueShards}: start every node and worker with the same QUEUE_SHARDS, or use another KEY_PREFIX`,
      );
    }
  }
}

/** The queue shard count of a kind of Redis when nothing says otherwise. */
export function defaultQueueShards(redis: RedisClient): number {
  return isCluster(redis) ? storeDefaults.clusterQueueShards : storeDefaults.queueShards;
}

/**
 * The queue shard count a cluster's layout record holds, or undefined before any node wrote it (what producers and
 * workers that start before the nodes go by: then the nodes' default for this kind of Redis).
 */
export async function recordedQueueShards(redis: RedisClient, prefix: string): Promise<number | undefined> {
  const value = await redis.hget(new Keys(prefix, 1).config, 'queueShards');
  const shards = Number(value);
  return value !== null && Number.isSafeInteger(shards) && shards >= 1 ? shards : undefined;
}
