import {
  silentLogger,
  storeDefaults,
  type Logger,
  type NotificationMode,
  type RedisTarget,
} from '@io-session/store';
import { hostname } from 'node:os';
import type { AuthOption } from './auth.js';
import { tracingRequested } from '@io-session/worker';
import { handlerDefaults } from './defaults.js';

/** Options of `from(io, options)`. Every field is optional; defaults are in `handlerDefaults` / `storeDefaults`. */
export interface SessionHandlerOptions {
  /** Grace after a session's last connection drops before it ends (the seed's `timeout`). Default `handlerDefaults.timeout`. */
  timeout?: number;
  /** Redis: a URL, `{ cluster: ['host:port', …] }`, or an ioredis Redis / Cluster (duplicated, never closed). Default `handlerDefaults.redis`. */
  redis?: RedisTarget;
  /** Prefix of every Redis key and BullMQ queue. Default `storeDefaults.prefix`. */
  prefix?: string;
  /** This node's id in the cluster. Default `<hostname>-<pid>`. */
  nodeId?: string;
  /** How long an unacknowledged push waits for its session. Default `handlerDefaults.messageTtlMs`. */
  messageTtlMs?: number;
  /** How long the status of a settled message stays queryable. Default `storeDefaults.statusRetentionMs`. */
  statusRetentionMs?: number;
  /** Largest client event or push accepted, in bytes of JSON. Default `handlerDefaults.maxPayloadBytes`. */
  maxPayloadBytes?: number;
  /** Client events a connection may send per second (bursts of twice that). Default `handlerDefaults.rateLimitPerSec`. */
  rateLimitPerSec?: number;
  /**
   * How a handshake's token is checked: `{ mode: 'none' }` (default, the seed's plain token), `{ mode: 'jwt',
   * secret, maxAgeS? }` (a JWT needs `exp` unless `maxAgeS` caps its life), or a function that may return
   * `{ token, expiresAt }` to have the connection closed when its credential expires.
   */
  auth?: AuthOption;
  /** Connections this node holds at most; 0: no limit. Default `handlerDefaults.maxConnections`. */
  maxConnections?: number;
  /** Connections from one client address on this node; 0: no limit. Default `handlerDefaults.maxConnectionsPerIp`. */
  maxConnectionsPerIp?: number;
  /** Connections of one session token on this node; 0: no limit. Default `handlerDefaults.maxConnectionsPerToken`. */
  maxConnectionsPerToken?: number;
  /** The client address is `x-forwarded-for`'s first entry (only behind a proxy that sets it). Default `handlerDefaults.trustProxy`. */
  trustProxy?: boolean;
  /** Heartbeat interval / time-to-live of this node. Defaults `storeDefaults.heartbeatMs` / `heartbeatTtlMs`. */
  heartbeatMs?: number;
  heartbeatTtlMs?: number;
  /** How often the sweeper checks for ended graces and dead nodes. Default `storeDefaults.sweepIntervalMs`. */
  sweepIntervalMs?: number;
  /** Keyspace notifications as a fast path for grace ends. Default `storeDefaults.notifications`. */
  keyspaceNotifications?: NotificationMode;
  /** Hash-tagged buckets sessions are spread over; the same on every node. Default `storeDefaults.buckets` (single Redis) or `clusterBuckets` (Redis Cluster). */
  buckets?: number;
  /**
   * Shards of every BullMQ queue (QUEUE_SHARDS); the same on every node and worker (the layout record holds it).
   * Default `storeDefaults.queueShards` (single Redis) or `clusterQueueShards` (Redis Cluster).
   */
  queueShards?: number;
  /** Replicas that must have a push (Redis `WAIT`) before it counts as stored. Default `storeDefaults.replicaAcks` (see README: failover). */
  replicaAcks?: number;
  /** Longest `WAIT` for `replicaAcks`, in ms; a push not acknowledged in time is refused. Default `storeDefaults.replicaTimeoutMs`. */
  replicaTimeoutMs?: number;
  /** Completed receipts / session-events jobs kept per queue for inspection (QUEUE_KEEP_COMPLETED). Default `handlerDefaults.keepCompletedJobs`. */
  keepCompletedJobs?: number;
  /** Unacknowledged pushes one session may hold; a push beyond it is refused. Default `storeDefaults.maxPendingPerSession`. */
  maxPendingPerSession?: number;
  /** Outbox entries a bucket may hold before pushes are refused (503). Default `storeDefaults.maxOutboxEntries`. */
  maxOutboxEntries?: number;
  /** Bytes a node holds unsent for one connection before it drops it as a slow client. Default `handlerDefaults.maxBufferedBytes`. */
  maxBufferedBytes?: number;
  /** How often this node compares its sessions' last push sequence with Redis and fetches what it missed (a push stored but not routed to it). Default `handlerDefaults.resyncMs`. */
  resyncIntervalMs?: number;
  /** Consume the BullMQ `push` queue on this node. Default `handlerDefaults.consumePushQueue`. */
  consumePushQueue?: boolean;
  /** Install the sharded Redis adapter on `io` (required for a cluster). Default `handlerDefaults.installAdapter`. */
  installAdapter?: boolean;
  /**
   * OpenTelemetry spans of pushes, deliveries, acknowledgements and receipts jobs, through the registered tracer
   * provider (the app's; `io-session node` registers its own), the push's trace carried with the message through
   * Redis (README: Tracing). Default: on when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`)
   * is set.
   */
  tracing?: boolean;
  /** Lifecycle at info, trouble at warn. Default: silent. */
  logger?: Logger;
}

/** The options with every default filled in. */
export type ResolvedOptions = Required<Omit<SessionHandlerOptions, 'auth' | 'buckets' | 'queueShards'>> & {
  /** Unset: the store's default for the kind of Redis (`storeDefaults.buckets` / `clusterBuckets`). */
  buckets?: number;
  /** Unset: the store's default for the kind of Redis (`storeDefaults.queueShards` / `clusterQueueShards`). */
  queueShards?: number;
  auth: NonNullable<SessionHandlerOptions['auth']>;
};

/** The one place where handler options meet their defaults. */
export function resolveOptions(options: SessionHandlerOptions): ResolvedOptions {
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  return {
    timeout: handlerDefaults.timeout,
    redis: handlerDefaults.redis,
    prefix: handlerDefaults.prefix,
    nodeId: `${hostname()}-${process.pid}`,
    messageTtlMs: handlerDefaults.messageTtlMs,
    statusRetentionMs: storeDefaults.statusRetentionMs,
    maxPayloadBytes: handlerDefaults.maxPayloadBytes,
    rateLimitPerSec: handlerDefaults.rateLimitPerSec,
    auth: { mode: 'none' },
    maxConnections: handlerDefaults.maxConnections,
    maxConnectionsPerIp: handlerDefaults.maxConnectionsPerIp,
    maxConnectionsPerToken: handlerDefaults.maxConnectionsPerToken,
    trustProxy: handlerDefaults.trustProxy,
    heartbeatMs: storeDefaults.heartbeatMs,
    heartbeatTtlMs: storeDefaults.heartbeatTtlMs,
    sweepIntervalMs: storeDefaults.sweepIntervalMs,
    keyspaceNotifications: storeDefaults.notifications,
    replicaAcks: storeDefaults.replicaAcks,
    replicaTimeoutMs: storeDefaults.replicaTimeoutMs,
    keepCompletedJobs: handlerDefaults.keepCompletedJobs,
    maxPendingPerSession: storeDefaults.maxPendingPerSession,
    maxOutboxEntries: storeDefaults.maxOutboxEntries,
    maxBufferedBytes: handlerDefaults.maxBufferedBytes,
    resyncIntervalMs: handlerDefaults.resyncMs,
    consumePushQueue: handlerDefaults.consumePushQueue,
    installAdapter: handlerDefaults.installAdapter,
    tracing: tracingRequested(),
    logger: silentLogger,
    ...given,
  };
}
