import type { RedisTarget } from '@io-session/store';

/** Where Redis is when an app says nothing: `REDIS_CLUSTER` seeds, else `REDIS_URL`, else the local default. */
export function defaultRedisTarget(env: NodeJS.ProcessEnv = process.env): RedisTarget {
  const seeds = (env.REDIS_CLUSTER ?? '')
    .split(',')
    .map((seed) => seed.trim())
    .filter(Boolean);
  if (seeds.length > 0) return { cluster: seeds };
  return env.REDIS_URL || 'redis://127.0.0.1:6379';
}

/** The key prefix when an app says nothing: `KEY_PREFIX`, else `ios` (CONTRACT.md §2). */
export function defaultKeyPrefix(env: NodeJS.ProcessEnv = process.env): string {
  return env.KEY_PREFIX || 'ios';
}
