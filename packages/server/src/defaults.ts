import { storeDefaults } from '@io-session/store';

/**
 * Every default of @io-session/server, documented once (the store's own live in `storeDefaults`). The handler
 * merges options with these in one place (options.ts).
 */
export const handlerDefaults = {
  /** Grace after a session's last connection drops before it ends (the seed's `timeout`), in ms. */
  timeout: 5000,
  /** Where Redis is when nothing is given. */
  redis: 'redis://127.0.0.1:6379',
  prefix: storeDefaults.prefix,
  /** How long an unacknowledged push waits for its session, in ms. */
  messageTtlMs: 3_600_000,
  /** Largest client event or push accepted, in bytes of JSON. */
  maxPayloadBytes: 65_536,
  /** Client events a connection may send per second (bursts of twice that). */
  rateLimitPerSec: 50,
  /**
   * Acknowledgements answer messages the server sent — a returning client may owe a whole backlog at once — so
   * they have their own, larger budget: this many times the event rate.
   */
  ackRateFactor: 20,
  /**
   * A connection whose events the rate limiter refused more than this many times the event rate within
   * `floodWindowMs` is flooding: it gets `session_error rate_limited` and is disconnected (200 in 10 s at 50/s).
   */
  floodRefusalsFactor: 4,
  floodWindowMs: 10_000,
  /** At most one `session_error rate_limited` per connection this often, however many events are refused, in ms. */
  refusalReplyIntervalMs: 1000,
  /**
   * Connections this node holds at most (MAX_CONNECTIONS); 0: no limit. Not derived from the file descriptor
   * limit: Node cannot read it portably, and memory (≈ 18 KB per idle connection) usually binds first; set it
   * from the node's memory to shed load onto other nodes instead of failing there.
   */
  maxConnections: 0,
  /** Connections from one client address on this node (MAX_CONNECTIONS_PER_IP); 0: no limit. */
  maxConnectionsPerIp: 0,
  /** Connections of one session token on this node (MAX_CONNECTIONS_PER_TOKEN); 0: no limit. */
  maxConnectionsPerToken: 0,
  /** Take the client address from `x-forwarded-for` (its first entry) instead of the socket (TRUST_PROXY). */
  trustProxy: false,
  /** Consume the BullMQ `push` queue on this node. */
  consumePushQueue: true,
  /** `push` jobs processed at once by a node. */
  pushConcurrency: 32,
  /** Install the sharded Redis adapter on `io` (required for a cluster). */
  installAdapter: true,
  /**
   * Completed jobs kept per queue for inspection (QUEUE_KEEP_COMPLETED): receipts and session events, and the push jobs
   * whose producer set no `removeOnComplete` (a plain BullMQ producer): the push queue never grows with what it ran.
   */
  keepCompletedJobs: 0,
  /** Bytes a node holds unsent for one connection (MAX_BUFFERED_BYTES); past it the client is slow and dropped. */
  maxBufferedBytes: 1_048_576,
  /** How long an acknowledgement is waited for; a v3 frame not acknowledged by then closes the connection. */
  ackTimeoutMs: 30_000,
  /** How often the node checks every connection's acknowledgement deadlines (one sweep, no timer per frame), ms. */
  ackSweepMs: 1000,
  /** Most messages and bytes of one v3 `push_batch` frame. */
  frameMessages: 200,
  frameBytes: 262_144,
  /** How long a routed push whose predecessor has not arrived waits before the gap is read from Redis, in ms. */
  gapWaitMs: 50,
  /** How often a node compares its sessions' last sequence numbers with Redis (finds pushes it missed), in ms. */
  resyncMs: 1000,
  /** Sessions whose routed pushes arrived this recently are left to their channel by the resync, in ms. */
  resyncQuietMs: 500,
  /**
   * How often a node publishes a probe on its own route channel to learn that Redis still delivers it (a slot that
   * moves drops its sharded subscriptions), in ms. One SPUBLISH per node per interval.
   */
  routeProbeMs: 1000,
  /** Most receipts one `receipts` job carries. */
  receiptsPerJob: 500,
  /** How long the queues remember a relayed outbox entry, so that relaying it again adds no job, in ms. */
  relayDedupeMs: 600_000,
  /** Failed `push` jobs the push consumer keeps when the job itself says nothing (a plain BullMQ producer). */
  pushJobsFailedKept: { age: 7 * 24 * 3600, count: 10_000 },
  /** Most outbox items one relay round puts on the queues. */
  relayRound: 5000,
  /**
   * Outbox entries older than this, and older than every live node's oldest entry still waiting in its relay, were
   * left by a node that died (was reaped) before relaying them, in ms.
   */
  outboxStaleMs: 15_000,
  /** First wait before a failed relay round is tried again, in ms; doubled per failure up to `relayRetryMaxMs`. */
  relayRetryMs: 100,
  relayRetryMaxMs: 5000,
  /**
   * Outbox items one node's relay holds in memory at most (the queue side is away). Past it new items stay in the
   * Redis outbox only, where the recovery relays them once this relay has caught up: nothing is lost.
   */
  maxRelayPending: 20_000,
  /** How often a node looks for such entries, in ms. */
  outboxRecoveryMs: 5000,
  /** Longest wait of one step of `close()` while Redis is away, in ms. */
  closeStepMs: 5000,
  /** Feed items (for the dashboard) written per relay round, and kept. */
  feedPerRound: 20,
  feedKeep: 200,
  /** Entries BullMQ keeps in a queue's event stream (nothing here reads it). */
  queueEventsMaxLen: 500,
  /** Where the SDK's browser bundle is served (as Socket.IO serves `/socket.io/socket.io.js`). */
  clientPath: '/io-session/client.js',
  /** Where the dashboard is mounted; its assets live under `<dashboardPath>/`. */
  dashboardPath: '/dashboard',
  /** Serve the dashboard at all. */
  dashboard: true,
} as const;
