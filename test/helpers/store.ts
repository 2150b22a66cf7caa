import { openRedis, SessionStore, type RedisClient } from '@io-session/store';
import { deferCleanup } from './cleanup.js';
import { dropPrefixAfterwards, redisTarget, SHARED_REDIS_URL } from './redis-client.js';

export interface TestStore {
  store: SessionStore;
  redis: RedisClient;
}

/**
 * A SessionStore on its own client (closed after the test file). On the shared Redis its keys are deleted
 * after the file too. The shared Redis is the shared Redis Cluster with `TEST_REDIS=cluster`. Without `buckets`
 * it uses the store's default, as a node started without BUCKETS does (1 on a single Redis, 16 on a Cluster).
 */
export function openStore(options: { prefix: string; buckets?: number; url?: string }): TestStore {
  const url = options.url ?? SHARED_REDIS_URL;
  const redis = openRedis(redisTarget(url), { connectionName: 'ios-test' });
  redis.on('error', () => undefined);
  deferCleanup(() => redis.quit().catch(() => redis.disconnect()));
  if (url === SHARED_REDIS_URL) dropPrefixAfterwards(options.prefix, url);
  return { redis, store: new SessionStore({ redis, prefix: options.prefix, buckets: options.buckets }) };
}
