/**
 * Every default of @io-session/devtools, documented once. Options objects of this package fall back to these.
 */
export const devtoolsDefaults = {
  /** `redis-server --loglevel` of the servers this package starts (only warnings reach their output). */
  redisLogLevel: 'warning',
  /** How long a started redis-server has to answer PING. */
  redisReadyTimeoutMs: 10_000,
  /** After `SHUTDOWN NOSAVE` (or SIGTERM), how long a redis-server has to exit before it is SIGKILLed. */
  redisStopGraceMs: 5_000,
  /** Primaries of a local Redis Cluster. */
  clusterPrimaries: 3,
  /** Replicas of each primary of a local Redis Cluster. */
  clusterReplicasPerPrimary: 1,
  /** `--cluster-node-timeout` of a local Redis Cluster: how long a silent primary takes to be failed over. */
  clusterNodeTimeoutMs: 2_000,
  /** How long a new local Redis Cluster has to report `cluster_state:ok` on every node. */
  clusterReadyTimeoutMs: 30_000,
  /** Lowest port tried for a cluster node (its bus port is port + 10000, so the highest is 65535 - 10000). */
  clusterPortFrom: 20_000,
  /** Cluster node ports are drawn from [clusterPortFrom, clusterPortFrom + clusterPortSpan). */
  clusterPortSpan: 30_000,
  /** `pollUntil`: interval between two checks. */
  pollIntervalMs: 20,
  /** `ProcessGroup.stop`: how long a child has after the signal before it is SIGKILLed. */
  stopGraceMs: 5_000,
  /** `ProcessGroup.stopAll`: the same, when everything is stopped at once. */
  stopAllGraceMs: 3_000,
  /** Characters of a child's output kept for error messages. */
  outputLimit: 200_000,
} as const;
