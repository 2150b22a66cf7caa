import type { Measured } from './stats.js';

/** The four things measured side by side: the project and its three baselines. */
export type SystemName = 'project' | 'bare' | 'seed' | 'bullmq';

export const systemLabels: Record<SystemName, string> = {
  project: 'io-session',
  bare: 'bare Socket.IO',
  seed: 'io-session-handler',
  bullmq: 'raw BullMQ',
};

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
}

/** CPU time per delivered message of each group of processes, in microseconds (/proc/<pid>/stat deltas). */
export interface ProcessCpu {
  /** The processes of the system under test (nodes; for raw BullMQ its workers). */
  nodes: Measured;
  /** The client swarm. */
  clients: Measured;
  /** The bench process: load generator, and for io-session the app side (push producer, receipts worker). */
  bench: Measured;
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

export interface SystemResult {
  name: SystemName;
  label: string;
  /** How it was run, in one sentence. */
  setup: string;
  /** Connections per second of fresh sessions (dedicated runs); null for raw BullMQ. */
  connectsPerSec: Measured | null;
  levels: LevelResult[];
  latency: LatencyResult | null;
  roundTrips: RoundTrips | null;
  /** Problems seen while measuring (messages not delivered, failed connections …). */
  warnings: string[];
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
  projectClients: 'v2' | 'legacy';
  quick: boolean;
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
  label: string;
  /** The measured value the target is about (a ratio, ms or a count, see `unit`). */
  value: number | null;
  /** What the value is compared with. */
  limit: number | null;
  unit: string;
  /** null: could not be evaluated (a system or level was not measured). */
  pass: boolean | null;
}

export interface BenchResult {
  version: 1;
  startedAt: string;
  finishedAt: string;
  elapsedS: number;
  machine: MachineInfo;
  options: BenchOptionsRecord;
  notes: string[];
  systems: Partial<Record<SystemName, SystemResult>>;
  figures: Figure[];
  targets: TargetResult[];
}
