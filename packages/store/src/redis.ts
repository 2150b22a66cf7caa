import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { storeDefaults } from './defaults.js';

/** A single Redis or a Redis Cluster: everything in io-session works on both. */
export type RedisClient = Redis | Cluster;

/** Where Redis is: a URL, host:port seeds of a Redis Cluster, or a client the caller already made. */
export type RedisTarget = string | { cluster: string[] } | RedisClient;

export interface ConnectOptions {
  /** Name shown by CLIENT LIST, useful when looking at a busy Redis. */
  connectionName?: string;
  /** ioredis `maxRetriesPerRequest`; BullMQ workers and subscribers need `null`. Default 2: fail fast, callers answer 503. */
  maxRetriesPerRequest?: number | null;
  /** A connection for sharded pub/sub (SSUBSCRIBE): on a Cluster, one subscriber per shard that follows the topology. */
  subscriber?: boolean;
}

export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

function redisOptions(options: ConnectOptions): RedisOptions {
  return {
    maxRetriesPerRequest: options.maxRetriesPerRequest === undefined ? 2 : options.maxRetriesPerRequest,
    // Subscribers must not auto-pipeline: their commands change the connection's mode.
    enableAutoPipelining: !options.subscriber,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
    ...(options.connectionName ? { connectionName: options.connectionName } : {}),
  };
}

function clusterOptions(options: ConnectOptions): ClusterOptions {
  return {
    redisOptions: redisOptions(options),
    enableAutoPipelining: !options.subscriber,
    shardedSubscribers: options.subscriber === true,
    // A subscriber sends no keyed command, so it would never meet a MOVED and learn that a slot moved: it refreshes
    // its slot map on a timer, and its sharded subscribers subscribe each channel again where its slot went.
    ...(options.subscriber ? { slotsRefreshInterval: storeDefaults.subscriberSlotsRefreshMs } : {}),
    // MOVED / ASK during a slot migration and a failover are retried here, not surfaced to callers.
    maxRedirections: 32,
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 300,
    retryDelayOnTryAgain: 100,
    clusterRetryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 2000),
  };
}

/** Parses `host:port` seeds. */
export function parseSeeds(seeds: string[]): { host: string; port: number }[] {
  return seeds.map((seed) => {
    const colon = seed.lastIndexOf(':');
    return { host: seed.slice(0, colon) || '127.0.0.1', port: Number(seed.slice(colon + 1) || 6379) };
  });
}

/** Opens a new client for a target. A given client is duplicated, so that every user owns its connection. */
export function openRedis(target: RedisTarget, options: ConnectOptions = {}): RedisClient {
  if (typeof target === 'string') return new Redis(target, redisOptions(options));
  if (target instanceof Cluster) return target.duplicate(undefined, clusterOptions(options));
  if (target instanceof Redis) return target.duplicate(redisOptions(options));
  return new Cluster(parseSeeds(target.cluster), clusterOptions(options));
}

/** Every primary of the target: the client itself for a single Redis, each master for a cluster. */
export function primaries(client: RedisClient): Redis[] {
  return isCluster(client) ? client.nodes('master') : [client];
}

/** Every server of the target (replicas too: a replica promoted by a failover keeps its settings). */
export function allServers(client: RedisClient): Redis[] {
  return isCluster(client) ? client.nodes('all') : [client];
}
