export { Keys, type BucketKeys, type SessionKeys } from './keys.js';
export { bucketOf, fnv1a } from './hash.js';
export {
  openRedis,
  isCluster,
  primaries,
  allServers,
  parseSeeds,
  type RedisClient,
  type RedisTarget,
  type ConnectOptions,
} from './redis.js';
export { defineScripts, loadScript, scriptSpecs, type ScriptName } from './scripts.js';
export { StoreError, StoreErrorCode, storeError } from './errors.js';
export {
  SessionStore,
  storeDefaults,
  canonicalJson,
  nodeIdOf,
  type SessionStoreOptions,
  type ConnectInput,
  type ConnectResult,
  type PushInput,
  type PushResult,
  type AckInput,
  type AckResult,
  type SessionPage,
  type EventItem,
  type ReceiptItem,
  type MessageStats,
} from './session-store.js';
export {
  NodeRegistry,
  reapDeadNodes,
  listNodes,
  type NodeInfo,
  nodeRegistryDefaults,
  type NodeRegistryOptions,
} from './node-registry.js';
export { Sweeper, sweeperDefaults, type SweeperOptions } from './sweeper.js';
export { ExpiryNotifications, type NotificationMode } from './expiry-notifications.js';
export { BackgroundLoop } from './background-loop.js';
export { decodeOutboxEntry } from './outbox.js';
export { silentLogger, type Logger } from './logger.js';
export type * from './types.js';
