/**
 * Every default of @io-session/store, documented once. Options objects of the store's classes name these
 * fields; the classes merge them here and nowhere else.
 */
export const storeDefaults = {
  /** Prefix of every Redis key (and, hash-tagged, of the BullMQ queues). */
  prefix: 'ios',
  /**
   * Hash-tagged buckets sessions are spread over on a single Redis; every node must agree (checked at start and
   * with every heartbeat). One bucket lets a script call carry the most messages: buckets only matter to spread a
   * Redis Cluster's slots.
   */
  buckets: 1,
  /** The same on a Redis Cluster: enough for the buckets to spread over the primaries (a few per primary). */
  clusterBuckets: 16,
  /**
   * Shards of every BullMQ queue (push, receipts, session-events) on a single Redis (QUEUE_SHARDS): a queue lives in
   * one hash slot, so shards only matter to spread job traffic over a Redis Cluster's primaries. Recorded in the
   * layout record with the bucket count; every node and worker must agree.
   */
  queueShards: 1,
  /**
   * The same on a Redis Cluster: two or three per primary of a 3–4 primary cluster (the busiest of 3 primaries
   * carries 3 of 8). Each shard costs every consumer one blocking connection per queue it consumes.
   */
  clusterQueueShards: 8,
  /** How long a delivered or expired message's status stays queryable, in ms. */
  statusRetentionMs: 600_000,
  /** Replicas that must have a push before it counts as stored (Redis `WAIT`); 0 = the primary alone. */
  replicaAcks: 0,
  /** Longest `WAIT` for `replicaAcks`, in ms. */
  replicaTimeoutMs: 100,
  /**
   * How often a Redis Cluster subscriber client reads the slot map again (one CLUSTER SLOTS), so that its sharded
   * subscriptions follow slots that moved, in ms.
   */
  subscriberSlotsRefreshMs: 2000,
  /** How often a node says it is alive, in ms. */
  heartbeatMs: 2000,
  /**
   * How long after its last heartbeat a node counts as dead and its connections are reaped, in ms — counted only while
   * Redis answered the reaper (the liveness rule, lua/claim-dead-node-3.lua): a Redis outage fences no node.
   */
  heartbeatTtlMs: 10_000,
  /** A heartbeat retried after a failure waits at most this share of the TTL (so a node retries several times per TTL). */
  heartbeatRetryShare: 0.2,
  /** Two heartbeats further apart than this share of the TTL break a node's streak (it may not reap for a TTL). */
  heartbeatGapShare: 0.5,
  /** How often every bucket is checked for ended graces and the cluster for dead nodes, in ms. */
  sweepIntervalMs: 1000,
  /** Keyspace notifications as a fast path for grace ends: `auto` (use them when Redis allows) or `off`. */
  notifications: 'auto' as 'auto' | 'off',
  /** Lease a reaper holds on a dead node while it reaps it; another reaper takes over after it, in ms. */
  reapLeaseMs: 30_000,
  /** Dead nodes one sweep reaps at most. */
  reapPerSweep: 4,
  /** Tokens of a dead node's index read per SSCAN while reaping. */
  reapScanCount: 200,
  /** Sessions one expire-sessions call ends at most (a sweep calls again while a call is full). */
  expireBatch: 200,
  /** Sessions per page of `getSessions`: default and largest. */
  pageSize: 100,
  maxPageSize: 1000,
  /** Unacknowledged pushes one session may hold (MAX_PENDING_PER_SESSION); a push beyond it is refused. */
  maxPendingPerSession: 1000,
  /**
   * Widest span of sequence numbers an inbox may cover, as a multiple of `maxPendingPerSession`: a message left
   * pending while this many newer ones were acknowledged moves to the end of its inbox (bounds every inbox read).
   */
  inboxSpanFactor: 4,
  /** Pending messages per page of an inbox replay. */
  replayPage: 100,
  /**
   * Outbox entries a bucket may hold before pushes are refused (MAX_OUTBOX_ENTRIES; HTTP 503, `pushMessage` false, a
   * queue job's message refused with reason `backlog`): the queue side is behind or away. Receipts and session events
   * of what was already accepted are still written, so the bound is soft by at most the pending messages.
   */
  maxOutboxEntries: 50_000,
  /** Pending fields a legacy receipt (acknowledgement by data) that the node could not match looks at, at most. */
  ackByDataScan: 64,
  /** Such fallback lookups per second per session (bursts of twice that), however many connections it has. */
  ackByDataPerSec: 20,
  /** Most messages (or acknowledgements) of one script call; larger batches are cut. */
  maxPerCall: 500,
  /** Longest an acknowledgement waits to be settled together with others, in ms. */
  ackWindowMs: 10,
  /** Groups one session may belong to at once; a join beyond is refused (`too_many_groups`). */
  maxGroupsPerSession: 100,
  /**
   * Members one group may have, and so the most sessions one group push reaches (MAX_GROUP_SIZE). A join beyond is
   * refused (`group_full`); on a Redis Cluster joins racing in several buckets may pass it by the joins in flight,
   * and a push to a group above it is refused (`group_too_large`, nothing stored).
   */
  maxGroupSize: 10_000,
  /** Members one push-group call stores at most: a group push is one call per bucket per this many members. */
  groupPushPage: 500,
  /** Outbox entries read per stale-outbox scan of a bucket. */
  staleOutboxBatch: 500,
} as const;

export type StoreDefaults = typeof storeDefaults;
