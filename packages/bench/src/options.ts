import { parseArgs } from 'node:util';
import type { ClientKind, ReceiptConsumer, SystemName } from './report/results.js';

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
  /**
   * io-session's client kinds, each measured as its own row, in this order: v3 (the SDK), v2 (ack callback),
   * legacy (the seed's receipt event). Default all three. The first one that can be measured is the one the
   * targets are evaluated on (v3 is skipped when the node does not speak it).
   */
  projectClients: ClientKind[];
  /** Latency, connects/s and round trips for every client kind (`all`, default) or the first only (`first`, quick). */
  kindDetails: 'all' | 'first';
  /** Who consumes io-session's receipts: `io-session worker` (default) or plain BullMQ workers in the bench. */
  receipts: ReceiptConsumer;
  /** Seconds of closed-loop load of the steady run (Redis bytes held per message). Default 20 (2 quick). */
  steadyS: number;
  /** Members of the group-push run (messages/s delivered to a group's members); 0 (`none`): no run. Default 1000. */
  groupMembers: number;
  /** io-session node process counts of the scaling runs. Default 1,2,4. */
  scaleNodes: number[];
  /** Sessions of the scaling runs. Default the first session count, at most 1,000. */
  scaleSessions: number;
  /** Offered pushes/s of the scaling runs; default 50% of io-session's maximum at the first session count. */
  scaleRate: number | undefined;
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
  --project-clients v3,v2,legacy
                          io-session's client kinds, one row each: v3 (the SDK), v2 (ack callback),
                          legacy (the seed's push_message_delivery); the first is the one the targets use
  --kind-details all      latency, connects/s and round trips for every client kind (all) or the first only
                          (first; the default with --quick)
  --receipts worker       who consumes io-session's receipts: worker (the io-session worker command, webhooks
                          to the bench) or bullmq (plain BullMQ workers in the bench, no dedupe state)
  --steady 20             seconds of load of the steady run: Redis bytes held per delivered message
  --group-members 1000    members of the group-push run: messages/s delivered to a group's members (none: skip)
  --scale-nodes 1,2,4     io-session node counts of the scaling runs (same offered load each); none: skip
  --scale-sessions N      sessions of the scaling runs (default: the first session count, at most 1,000)
  --scale-rate N          pushes/s offered in the scaling runs (default: 50% of io-session's maximum)
  --latency-rate N        pushes/s of the latency runs (default: 50% of bare Socket.IO's maximum)
  --out bench-results     output directory
  --cpu-prof              write V8 CPU profiles of the io-session nodes to <out>/profiles
  --quick                 a smoke run: 200,1000 sessions, 1 run of 2 s
  --redis-cluster         run io-session and raw BullMQ on a private Redis Cluster (3 primaries + 3 replicas);
                          bare Socket.IO stays on a single Redis
`;

const systems: SystemName[] = ['bullmq', 'bare', 'seed', 'project'];
const kinds: ClientKind[] = ['v3', 'v2', 'legacy'];

function positive(name: string, text: string, { integer = true } = {}): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new Error(`--${name} must be a positive ${integer ? 'whole ' : ''}number (got '${text}')`);
  }
  return n;
}

function oneOf<T extends string>(name: string, text: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(text)) {
    throw new Error(`--${name} must be ${allowed.join(' or ')} (got '${text}')`);
  }
  return text as T;
}

function list<T extends string>(name: string, text: string, allowed: readonly T[]): T[] {
  return text.split(',').map((s) => {
    const item = s.trim();
    if (!(allowed as readonly string[]).includes(item)) {
      throw new Error(`--${name} takes ${allowed.join(', ')} (got '${s}')`);
    }
    return item as T;
  });
}

const argSpec = {
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
  'kind-details': { type: 'string' },
  receipts: { type: 'string' },
  steady: { type: 'string' },
  'group-members': { type: 'string' },
  'scale-nodes': { type: 'string' },
  'scale-sessions': { type: 'string' },
  'scale-rate': { type: 'string' },
  'latency-rate': { type: 'string' },
  out: { type: 'string' },
  'cpu-prof': { type: 'boolean' },
  quick: { type: 'boolean' },
  'redis-cluster': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof argSpec }>>['values'];

/** The options of io-session's own measurements: client kinds, receipts, the steady and scaling runs. */
function projectOptions(
  values: Values,
  defaults: { quick: boolean; first: number },
): Pick<
  BenchOptions,
  | 'projectClients'
  | 'kindDetails'
  | 'receipts'
  | 'steadyS'
  | 'groupMembers'
  | 'scaleNodes'
  | 'scaleSessions'
  | 'scaleRate'
> {
  const { quick, first } = defaults;
  const clients = list('project-clients', values['project-clients'] ?? kinds.join(','), kinds);
  const scale = values['scale-nodes'] ?? '1,2,4';
  const scaleNodes = scale === 'none' ? [] : scale.split(',').map((n) => positive('scale-nodes', n.trim()));
  return {
    projectClients: [...new Set(clients)],
    kindDetails: oneOf('kind-details', values['kind-details'] ?? (quick ? 'first' : 'all'), [
      'all',
      'first',
    ] as const),
    receipts: oneOf('receipts', values.receipts ?? 'worker', ['worker', 'bullmq'] as const),
    steadyS: values.steady ? positive('steady', values.steady, { integer: false }) : quick ? 2 : 20,
    groupMembers:
      values['group-members'] === 'none'
        ? 0
        : values['group-members']
          ? positive('group-members', values['group-members'])
          : 1000,
    scaleNodes: [...new Set(scaleNodes)].sort((a, b) => a - b),
    scaleSessions: values['scale-sessions']
      ? positive('scale-sessions', values['scale-sessions'])
      : Math.min(first, 1000),
    scaleRate: values['scale-rate'] ? positive('scale-rate', values['scale-rate']) : undefined,
  };
}

/** Parses the command line; throws an Error naming the bad option. */
export function parseBenchArgs(args: string[]): BenchOptions {
  const { values } = parseArgs({ args, allowPositionals: false, options: argSpec });
  const quick = values.quick ?? false;
  const sessions = (values.sessions ?? (quick ? '200,1000' : '1000,10000'))
    .split(',')
    .map((s) => positive('sessions', s.trim()))
    .sort((a, b) => a - b);
  const only = values.only ? list('only', values.only, systems) : systems;
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
    ...projectOptions(values, { quick, first: sessions[0]! }),
    latencyRate: values['latency-rate'] ? positive('latency-rate', values['latency-rate']) : undefined,
    out: values.out ?? 'bench-results',
    cpuProf: values['cpu-prof'] ?? false,
    quick,
    redisCluster: values['redis-cluster'] ?? false,
    help: values.help ?? false,
  };
}
