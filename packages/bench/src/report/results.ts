import type { Measured } from './stats.js';

/** The four things measured side by side: the project and its three baselines. */
export type SystemName = 'project' | 'bare' | 'seed' | 'bullmq';

export const systemLabels: Record<SystemName, string> = {
  project: 'io-session',
  bare: 'bare Socket.IO',
  seed: 'io-session-handler',
  bullmq: 'raw BullMQ',
};

/** How io-session's clients speak: the SDK's protocol v3, v2 (ack callback) or the seed's legacy receipts. */
export type ClientKind = 'v3' | 'v2' | 'legacy';

export const clientKindLabels: Record<ClientKind, string> = {
  v3: 'v3 (SDK, push_batch frames)',
  v2: 'v2 (ack callback)',
  legacy: "legacy (seed's receipts)",
};

/** Who consumed io-session's receipts: `io-session worker` (webhooks to the bench) or plain BullMQ workers. */
export type ReceiptConsumer = 'worker' | 'bullmq';

/** What Redis did per delivered message during the measured window of a throughput run. */
export interface RedisCost {
  /** Commands Redis executed (INFO commandstats), the ones scripts call included. */
  commandsPerMsg: Measured;
  /** INFO stats total_commands_processed delta (also counts script-internal calls). */
  processedPerMsg: Measured;
  /** INFO stats total_reads_processed delta: socket reads, i.e. network round trips (a pipeline counts once). */
  readsPerMsg: Measured;
  /** Redis CPU (INFO cpu used_cpu_user + used_cpu_sys) per message, in microseconds. */
  cpuUsPerMsg: Measured;
  /** INFO commandstats calls per message by command (last run), scripts' calls included. */
  byCommand?: Record<string, number>;
  /** Each primary's share (0..1) of the Redis CPU summed over the primaries, over all measured windows. */
  cpuShareByPrimary?: { port: number; share: number }[];
}

/** CPU time per delivered message of each group of processes, in microseconds (/proc/<pid>/stat deltas). */
export interface ProcessCpu {
  /** The processes of the system under test (nodes; for raw BullMQ its workers). */
  nodes: Measured;
  /** The client swarm. */
  clients: Measured;
  /** The bench process: load generator, and for io-session the app side (push producer, webhook receiver). */
  bench: Measured;
  /** io-session's `io-session worker` process (receipts and session events), when it ran. */
  worker?: Measured;
}

/** One session count of one system. */
export interface LevelResult {
  sessions: number;
  /** Delivered (acknowledged) pushes per second, closed loop. */
  throughput: Measured;
  /** Null for a system that does not use Redis. */
  redis: RedisCost | null;
  cpuUsPerMsg: ProcessCpu;
  /** Redis used_memory growth while this level's sessions connected, divided by those sessions. */
  redisBytesPerSession: number | null;
  /** The same growth by key pattern (MEMORY USAGE of every key before and after), bytes per session. */
  redisBytesPerSessionByKey?: Record<string, number>;
  /** Redis used_memory left after the throughput runs, per message delivered in them (retained statuses, jobs). */
  redisBytesRetainedPerMsg?: number | null;
  /** Growth of the node processes' VmRSS while this level's clients connected, divided by them. */
  rssBytesPerConnection: number | null;
  /** Connections per second while this level's clients connected (the ramp). */
  rampConnectsPerSec: number | null;
}

/** Push → client latency under open-loop load. */
export interface LatencyResult {
  ratePerSec: number;
  /** Where the rate came from, e.g. "50% of bare Socket.IO's maximum at 1,000 sessions". */
  rateSource: string;
  sessions: number;
  p50Ms: Measured;
  p99Ms: Measured;
  /** Latency samples behind the medians, over all runs. */
  samples: number;
  /** Achieved push rate (median of the runs): below `ratePerSec` means the generator fell behind. */
  achievedPerSec: Measured;
  /** The system's maximum is below `ratePerSec`: it cannot keep up, latency grows with the queue (one run). */
  saturated: boolean;
  /** When saturated: latency at 50% of the system's own maximum (its pipeline delay without queueing). */
  ownHalf: { ratePerSec: number; p50Ms: Measured; p99Ms: Measured } | null;
}

/**
 * Top-level Redis commands per delivered message, counted with MONITOR during a short separate run (MONITOR
 * tells client commands from script-internal ones; INFO commandstats does not). An EVALSHA counts once.
 */
export interface RoundTrips {
  sessions: number;
  messages: number;
  perMsg: number | null;
  /** Commands the scripts called, per message (not round trips; shown for the profile). */
  scriptCallsPerMsg: number | null;
  /** Top-level commands per message by command name, largest first. */
  byCommand: Record<string, number>;
  /** Top-level commands per message by client connection name, largest first. */
  byClient: Record<string, number>;
}

/**
 * Redis bytes held per delivered message in steady state: `used_memory` growth over a longer closed-loop run
 * (queues drained before and after) ÷ messages delivered in it, with the receipts consumed as configured.
 */
export interface SteadyResult {
  sessions: number;
  durationS: number;
  delivered: number;
  bytesPerMsg: number | null;
  consumer: ReceiptConsumer;
  /** The growth by key pattern (MEMORY USAGE of every key before and after), bytes per message. */
  byKey?: Record<string, number>;
}

/** Messages per second delivered to the members of one group (`{ group, data, id }` push jobs, closed-loop). */
export interface GroupPushResult {
  members: number;
  pushes: number;
  durationS: number;
  messagesPerSec: number;
  /** Member messages not receipted within 30 s of the run's end. */
  missing: number;
}

export interface SystemResult {
  name: SystemName;
  label: string;
  /** For io-session: how its clients spoke. */
  clientKind?: ClientKind;
  /** How it was run, in one sentence. */
  setup: string;
  /** Connections per second of fresh sessions (dedicated runs); null for raw BullMQ. */
  connectsPerSec: Measured | null;
  levels: LevelResult[];
  latency: LatencyResult | null;
  roundTrips: RoundTrips | null;
  /** Problems seen while measuring (messages not delivered, failed connections …). */
  warnings: string[];
  /** For io-session's first client kind: Redis bytes held per message in a longer steady run. */
  steady?: SteadyResult | null;
  /** For io-session's first client kind: messages/s delivered to the members of one group. */
  groupPush?: GroupPushResult | null;
}

/** One run of the scaling series: io-session with `nodes` node processes at the series' offered load. */
export interface ScalingRun {
  nodes: number;
  /** Delivered per second in the measured window (below the offered rate: it could not keep up). */
  deliveredPerSec: number;
  /** Messages the run delivered, warm-up and drain included. */
  delivered: number;
  /** Seconds from idle before the run to idle after it (the span of the figures below). */
  seconds: number;
  /** CPU of all node processes from idle to idle ÷ messages delivered. */
  nodeCpuUsPerMsg: number | null;
  /** Keyspace notifications each node received per second, idle to idle (`ios_keyspace_events_total`); null: not exported. */
  keyspacePerNodePerSec: number[] | null;
  /** Sharded pub/sub messages each node received per second, idle to idle (`ios_pubsub_received_total`). */
  pubsubPerNodePerSec: number[] | null;
}

export interface ScalingResult {
  sessions: number;
  /** Offered load (open loop) of every run. */
  ratePerSec: number;
  rateSource: string;
  durationS: number;
  clientKind: ClientKind;
  runs: ScalingRun[];
}

/** What a node answered to a raw `v: 3` connection: `push_batch` (it speaks v3) or the legacy fallback. */
export interface ProtocolProbe {
  supported: boolean;
  event: string | null;
  ack: boolean;
  detail: string;
}

/** --redis-cluster: io-session's Redis CPU per message on a single Redis, for the cluster's ratio. */
export interface ClusterReference {
  sessions: number;
  clientKind: ClientKind;
  throughput: number | null;
  redisCpuUsPerMsg: number | null;
}

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  redis: string;
  platform: string;
  /** 1-minute load average when the bench started (before it started anything). */
  loadAvgStart: number;
  /**
   * Share (0..1) of the machine's CPU time used during the run by processes that were not the bench's: other
   * work on a shared machine. Above a few percent the absolute figures (less so the ratios) are depressed.
   */
  foreignCpuShare: number | null;
}

export interface BenchOptionsRecord {
  sessions: number[];
  runs: number;
  durationS: number;
  warmupS: number;
  connectClients: number;
  batch: number;
  window: number;
  swarm: number;
  only: SystemName[];
  /** io-session's client kinds, in the order measured (older results: one of v2, legacy). */
  projectClients: ClientKind[] | ClientKind;
  quick: boolean;
  /** Latency, connects/s and round trips for every client kind (`all`) or the first only. */
  kindDetails?: 'all' | 'first';
  receipts?: ReceiptConsumer;
  steadyS?: number;
  scaleNodes?: number[];
  scaleSessions?: number;
  /** io-session and raw BullMQ ran on a Redis Cluster (absent in results written before it existed). */
  redisCluster?: boolean;
}

/** One row of the summary table. */
export interface Figure {
  key: string;
  label: string;
  unit: string;
  /** Whether more is better (throughput) or less (latency, cost). */
  better: 'higher' | 'lower';
  values: Partial<Record<SystemName, number | null>>;
  /** project ÷ baseline, for each baseline that has a value. */
  ratios: Partial<Record<Exclude<SystemName, 'project'>, number | null>>;
}

export interface TargetResult {
  id: string;
  /** The issue that set the target (12: the current one; 4: earlier targets, shown below). */
  issue: 12 | 4;
  label: string;
  /** The measured value the target is about (a ratio, ms or a count, see `unit`). */
  value: number | null;
  /** What the value is compared with. */
  limit: number | null;
  unit: string;
  /** null: could not be evaluated (a system or level was not measured). */
  pass: boolean | null;
  /** More about the value, e.g. the other client kinds' ratios. */
  detail?: string;
}

export interface BenchResult {
  version: 2;
  startedAt: string;
  finishedAt: string;
  elapsedS: number;
  machine: MachineInfo;
  options: BenchOptionsRecord;
  notes: string[];
  /** `systems.project` is io-session with its first client kind (v3 when the node speaks it). */
  systems: Partial<Record<SystemName, SystemResult>>;
  /** io-session with its other client kinds, in the order measured. */
  projectKinds?: SystemResult[];
  protocolProbe?: ProtocolProbe | null;
  scaling?: ScalingResult | null;
  clusterReference?: ClusterReference | null;
  figures: Figure[];
  targets: TargetResult[];
}
