import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

/** A single Redis or a Redis Cluster: everything in io-session works on both. */
export type RedisClient = Redis | Cluster;

/** Where Redis is: a URL, host:port seeds of a Redis Cluster, or a client the caller already made. */
export type RedisTarget = string | { cluster: string[] } | RedisClient;

export interface ConnectOptions {
  /** Name shown by CLIENT LIST, useful when looking at a busy Redis. */
  connectionName?: string;
  /** ioredis `maxRetriesPerRequest`; BullMQ workers need `null`. Default 2: fail fast, callers answer 503. */
  maxRetriesPerRequest?: number | null;
}

export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

/** Opens a client for a target (or duplicates the given client, so that every user owns its connection). */
export function openRedis(target: RedisTarget, options: ConnectOptions = {}): RedisClient {
  const common: RedisOptions = {
    maxRetriesPerRequest: options.maxRetriesPerRequest === undefined ? 2 : options.maxRetriesPerRequest,
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
    ...(options.connectionName ? { connectionName: options.connectionName } : {}),
  };
  if (typeof target === 'string') return new Redis(target, common);
  if (isSeedList(target)) {
    const clusterOptions: ClusterOptions = { redisOptions: common, enableAutoPipelining: true };
    return new Cluster(
      target.cluster.map((seed) => {
        const [host, port] = seed.split(':');
        return { host: host ?? '127.0.0.1', port: Number(port ?? 6379) };
      }),
      clusterOptions,
    );
  }
  return target.duplicate(common as never) as RedisClient;
}

function isSeedList(target: Exclude<RedisTarget, string>): target is { cluster: string[] } {
  return !(target instanceof Redis) && !(target instanceof Cluster);
}

/** Every primary of the target: one for a single Redis, each master for a cluster. */
export function primaries(client: RedisClient): Redis[] {
  return isCluster(client) ? client.nodes('master') : [client];
}
