import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';
import type { Scripts, StatusArgs } from './scripts/scripts.js';

/** What every domain module of the store shares: the client, the keys, the scripts and the settings. */
export interface StoreContext {
  readonly redis: RedisClient;
  readonly keys: Keys;
  readonly scripts: Scripts;
  /** A Redis Cluster: one bucket per script call (its keys share a slot); a single Redis takes many at once. */
  readonly clustered: boolean;
  /** Status retention and its time slot (half of it). */
  readonly status: StatusArgs;
  /** Unacknowledged pushes one session may hold. */
  readonly maxPending: number;
  /** Outbox entries a bucket may hold before pushes are refused (the queue side is behind or away). */
  readonly maxOutboxEntries: number;
  /** Replicas that must acknowledge a push (`WAIT`), and for how long to wait. */
  readonly replicaAcks: number;
  readonly replicaTimeoutMs: number;
}
