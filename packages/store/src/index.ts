export { storeDefaults, type StoreDefaults } from './defaults.js';
export {
  Keys,
  bucketTag,
  queueShardPrefix,
  HASHTABLE_FIELD,
  type BucketKeys,
  type SessionKeys,
} from './keys.js';
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
export { defineScripts, loadScript, scriptFiles, type ScriptFile } from './scripts/load.js';
export { Scripts, type StatusArgs } from './scripts/scripts.js';
export { StoreError, StoreErrorCode, storeError, LayoutError } from './errors.js';
export { canonicalJson, parseJson } from './json.js';
export {
  SessionStore,
  LAYOUT_VERSION,
  LAYOUT_MARK,
  defaultQueueShards,
  recordedQueueShards,
  type SessionStoreOptions,
} from './session-store.js';
export type { StoreContext } from './context.js';
export { Sessions, type ConnectInput, type ConnectResult, type EventItem } from './sessions/sessions.js';
export { SessionReads, nodeIdOf, type SessionPage } from './sessions/reads.js';
export { Pushes, type PushInput, type PushResult, type PushRefusal } from './messages/push.js';
export { Acks, type AckInput, type AckResult, type ReceiptsItem } from './messages/acks.js';
export { Inbox } from './messages/inbox.js';
export { GroupCommit, type GroupCommitOptions } from './messages/group-commit.js';
export { MessageStatus, type MessageStats } from './messages/status.js';
export { Outbox, decodeOutboxEntry } from './outbox/outbox.js';
export {
  Groups,
  type GroupMemberResult,
  type GroupPushInput,
  type JoinResult,
  type LeaveResult,
} from './groups/groups.js';
export { groupOfMessageId, memberMessageId, recipientMessageId } from './messages/message-ids.js';
export { NodeRegistry, type Fencing, type NodeRegistryOptions } from './cluster/liveness.js';
export { listNodes, type NodeInfo } from './cluster/nodes.js';
export { reapDeadNodes, type ReapedNode, type ReaperIdentity } from './cluster/reaper.js';
export { Sweeper, type SweeperOptions } from './cluster/sweeper.js';
export { ExpiryNotifications, type NotificationMode } from './cluster/expiry-notifications.js';
export { BackgroundLoop } from './background-loop.js';
export { silentLogger, type Logger } from './logger.js';
export type * from './types.js';
