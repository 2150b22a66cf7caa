import { startRedisCluster } from '@io-session/devtools';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `host:port` seeds of the run's Redis Cluster (the `redis-cluster` project; see redis-client.ts). */
    redisClusterSeeds?: string[];
  }
}

/**
 * globalSetup of the `redis-cluster` project: ONE local Redis Cluster (3 primaries, 3 replicas, memory only, free
 * ports) for the whole run, whose seeds the test files get through `inject('redisClusterSeeds')`. Every test
 * keeps to its own key prefix, as on the shared single Redis. `TEST_REDIS_CLUSTER=host:port,…` uses a running
 * cluster instead of starting one.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = (process.env.TEST_REDIS_CLUSTER ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (given.length > 0) {
    project.provide('redisClusterSeeds', given);
    return async () => undefined;
  }
  // its redis-servers are SIGKILLed when vitest exits, even without this teardown (devtools' ProcessGroup)
  const cluster = await startRedisCluster({ primaries: 3, replicasPerPrimary: 1 });
  project.provide('redisClusterSeeds', cluster.seeds);
  return () => cluster.stop();
}
