import type { StoreContext } from './context.js';
import { storeDefaults } from './defaults.js';
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

export interface SessionStoreOptions {
  /** The client every command goes through (a single Redis or a Cluster). Not closed by the store. */
  redis: RedisClient;
  /** Prefix of every key. Default `storeDefaults.prefix`. */
  prefix?: string;
  /** Hash-tagged buckets sessions are spread over; the same on every node. Default `storeDefaults.buckets`. */
  buckets?: number;
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
  readonly status: StatusArgs;
  readonly maxPending: number;
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

  constructor(options: SessionStoreOptions) {
    this.redis = options.redis;
    this.keys = new Keys(options.prefix ?? storeDefaults.prefix, options.buckets ?? storeDefaults.buckets);
    this.clustered = isCluster(this.redis);
    const retentionMs = options.statusRetentionMs ?? storeDefaults.statusRetentionMs;
    this.status = { retentionMs, slotMs: Math.max(1, Math.ceil(retentionMs / 2)) };
    this.maxPending = options.maxPendingPerSession ?? storeDefaults.maxPendingPerSession;
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
  }

  /** Checks that every node of the cluster agrees on the bucket count (the first node to start sets it). */
  async verifyLayout(): Promise<void> {
    await this.redis.hsetnx(this.keys.config, 'buckets', this.keys.bucketCount);
    const stored = Number(await this.redis.hget(this.keys.config, 'buckets'));
    if (stored !== this.keys.bucketCount) {
      throw new Error(
        `this cluster (key prefix '${this.keys.prefix}') uses ${stored} buckets but this node was started with ` +
          `${this.keys.bucketCount}: start every node with the same bucket count, or use another KEY_PREFIX`,
      );
    }
  }
}
