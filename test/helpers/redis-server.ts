import {
  startRedisCluster,
  startRedisServer,
  type RedisCluster,
  type RedisClusterOptions,
  type RedisServer,
  type RedisServerOptions,
} from '@io-session/devtools';
import { testProcessGroup } from './child.js';
import { deferCleanup } from './cleanup.js';

export { ping, rawCommand } from '@io-session/devtools';
export type { RedisCluster, RedisServer, RedisServerOptions };

/** Starts a private, memory-only `redis-server` on a free port; it is killed after the test file whatever happens. */
export function startRedis(options: Omit<RedisServerOptions, 'group'> = {}): Promise<RedisServer> {
  return startRedisServer({ ...options, group: testProcessGroup() });
}

/**
 * Starts a local Redis Cluster (3 primaries + 3 replicas by default, memory only, free ports); stopped after the
 * test (or the file, from `beforeAll`), killed whatever happens.
 */
export async function startCluster(options: Omit<RedisClusterOptions, 'group'> = {}): Promise<RedisCluster> {
  const cluster = await startRedisCluster({ ...options, group: testProcessGroup() });
  deferCleanup(() => cluster.stop());
  return cluster;
}
