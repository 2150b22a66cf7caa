import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';
import type { Scripts } from './scripts/scripts.js';

/** What every domain module of the store shares: the client, the keys, the scripts and the settings. */
export interface StoreContext {
  readonly redis: RedisClient;
  readonly keys: Keys;
  readonly scripts: Scripts;
  /** How long a settled message's status stays queryable, in ms. */
  readonly statusRetentionMs: number;
  /** Replicas that must acknowledge a push (`WAIT`), and for how long to wait. */
  readonly replicaAcks: number;
  readonly replicaTimeoutMs: number;
}
