/**
 * @io-session/devtools: what `io-session dev`, the bench and the tests share. Development only: nothing here
 * is part of a production image.
 */
export { devtoolsDefaults } from './defaults.js';
export { freePort, freeClusterPort, portIsFree } from './ports.js';
export { pollUntil, sleep, type PollOptions, type Truthy } from './poll.js';
export { OutputBuffer } from './output-buffer.js';
export { ProcessGroup, exitOf, isRunning, killHard, type Child } from './processes.js';
export { stopOnExit } from './shutdown.js';
export { exitWithParent } from './child.js';
export { rawCommand, ping, redisAnswers } from './redis-probe.js';
export { startRedisServer, type RedisServer, type RedisServerOptions } from './redis-server.js';
export {
  startRedisCluster,
  primaryPortsOf,
  type RedisCluster,
  type RedisClusterOptions,
} from './redis-cluster.js';
export { prettyLogs, type PrettyLogsOptions } from './pretty-logs.js';
export {
  FaultProxy,
  type FaultProxyOptions,
  type FaultProxyStats,
  type PartitionMode,
  type DropMatcher,
  type RespCommand,
} from './fault-proxy/index.js';
