import { parseArgs } from 'node:util';
import type { SystemName } from './report/results.js';

export interface BenchOptions {
  /** Session counts to measure throughput at (ascending). Default 1000,10000. */
  sessions: number[];
  /** Runs of each measurement; the report gives the median. Default 3 (1 with --quick). */
  runs: number;
  /** Measured seconds of each throughput / latency run. Default 5 (2 with --quick). */
  durationS: number;
  /** Warm-up seconds before each measured window. Default 1 (0.5 with --quick). */
  warmupS: number;
  /** Fresh clients connected in each connects/s run. Default: the first session count. */
  connectClients: number;
  /** Messages per io-session `push` job (and per BullMQ addBulk). Default 200. */
  batch: number;
  /** Pushes kept in flight in closed-loop (throughput) runs. Default 10000. */
  window: number;
  /** Client swarm processes. Default 2. */
  swarm: number;
  /** Systems to measure. Default all: bullmq, bare, seed, project. */
  only: SystemName[];
  /** How io-session's clients speak: v2 (ack callback, default) or legacy (the seed's receipt event). */
  projectClients: 'v2' | 'legacy';
  /** Open-loop rate of the latency runs; default 50% of bare Socket.IO's maximum at the first session count. */
  latencyRate: number | undefined;
  /** Where the JSON and HTML results go. Default bench-results (relative to the working directory). */
  out: string;
  /** Profile the io-session nodes with `node --cpu-prof` (profiles in <out>/profiles). */
  cpuProf: boolean;
  quick: boolean;
  /** io-session and raw BullMQ on a private Redis Cluster (3 primaries + 3 replicas); bare stays on one Redis. */
  redisCluster: boolean;
  help: boolean;
}

export const usage = `usage: io-session bench [options]

Starts a private redis-server, two nodes of each system and a client swarm on this machine, measures
io-session against raw BullMQ, bare Socket.IO (redis adapter + emitter) and io-session-handler@1.0.74, prints a
table with the targets and writes bench-results/<timestamp>.json|html and bench-results/latest.json|html.

  --sessions 1000,10000   session counts for throughput (first: latency, costs; last: memory)
  --runs 3                runs per measurement (the median is reported)
  --duration 5            measured seconds per throughput / latency run
  --warmup 1              warm-up seconds before each measured window
  --connect N             fresh clients per connects/s run (default: the first session count)
  --batch 200             messages per io-session push job
  --window 10000          pushes in flight in throughput runs
  --swarm 2               client swarm processes
  --only project,bare     measure only these of: project, bare, seed, bullmq
  --project-clients v2    v2 (ack callback) or legacy (the seed's push_message_delivery)
  --latency-rate N        pushes/s of the latency runs (default: 50% of bare Socket.IO's maximum)
  --out bench-results     output directory
  --cpu-prof              write V8 CPU profiles of the io-session nodes to <out>/profiles
  --quick                 a smoke run: 200,1000 sessions, 1 run of 2 s
  --redis-cluster         run io-session and raw BullMQ on a private Redis Cluster (3 primaries + 3 replicas);
                          bare Socket.IO stays on a single Redis
`;

const systems: SystemName[] = ['bullmq', 'bare', 'seed', 'project'];

function positive(name: string, text: string, { integer = true } = {}): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new Error(`--${name} must be a positive ${integer ? 'whole ' : ''}number (got '${text}')`);
  }
  return n;
}

/** Parses the command line; throws an Error naming the bad option. */
export function parseBenchArgs(args: string[]): BenchOptions {
  const { values } = parseArgs({
    args,
    allowPositionals: false,
    options: {
      sessions: { type: 'string' },
      runs: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connect: { type: 'string' },
      batch: { type: 'string' },
      window: { type: 'string' },
      swarm: { type: 'string' },
      only: { type: 'string' },
      'project-clients': { type: 'string' },
      'latency-rate': { type: 'string' },
      out: { type: 'string' },
      'cpu-prof': { type: 'boolean' },
      quick: { type: 'boolean' },
      'redis-cluster': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const quick = values.quick ?? false;
  const sessions = (values.sessions ?? (quick ? '200,1000' : '1000,10000'))
    .split(',')
    .map((s) => positive('sessions', s.trim()))
    .sort((a, b) => a - b);
  const only = values.only
    ? values.only.split(',').map((s) => {
        const name = s.trim() as SystemName;
        if (!systems.includes(name)) throw new Error(`--only takes ${systems.join(', ')} (got '${s}')`);
        return name;
      })
    : systems;
  const clients = values['project-clients'] ?? 'v2';
  if (clients !== 'v2' && clients !== 'legacy') {
    throw new Error(`--project-clients must be v2 or legacy (got '${clients}')`);
  }
  return {
    sessions: [...new Set(sessions)],
    runs: values.runs ? positive('runs', values.runs) : quick ? 1 : 3,
    durationS: values.duration ? positive('duration', values.duration, { integer: false }) : quick ? 2 : 5,
    warmupS: values.warmup ? positive('warmup', values.warmup, { integer: false }) : quick ? 0.5 : 1,
    connectClients: values.connect ? positive('connect', values.connect) : sessions[0]!,
    batch: values.batch ? positive('batch', values.batch) : 200,
    window: values.window ? positive('window', values.window) : 10_000,
    swarm: values.swarm ? positive('swarm', values.swarm) : 2,
    only: systems.filter((s) => only.includes(s)),
    projectClients: clients,
    latencyRate: values['latency-rate'] ? positive('latency-rate', values['latency-rate']) : undefined,
    out: values.out ?? 'bench-results',
    cpuProf: values['cpu-prof'] ?? false,
    quick,
    redisCluster: values['redis-cluster'] ?? false,
    help: values.help ?? false,
  };
}
