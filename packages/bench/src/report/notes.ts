import { cpus } from 'node:os';
import type { BenchOptions } from '../options.js';
import type { BenchResult, SystemResult } from './results.js';
import { formatCount } from './summary.js';

type Measured = Pick<BenchResult, 'systems' | 'projectKinds' | 'protocolProbe' | 'scaling'>;

function clusterNote(): string {
  return (
    'Redis Cluster: io-session (REDIS_CLUSTER, BullMQ prefix {bench}) and raw BullMQ (prefix {benchfloor}) ran on a ' +
    'private Redis Cluster of 3 primaries + 3 replicas on this machine; their Redis-side figures (INFO ' +
    'commandstats, stats, cpu and used_memory deltas, MONITOR round trips) are summed over the 3 primaries ' +
    '(replicas, which apply the replication stream, are not counted), and the Redis CPU per primary is each ' +
    "primary's share of that sum. The single-Redis Redis CPU per message of the cluster ratio comes from " +
    "throughput runs of io-session's first client kind on the private single Redis in the same run. Bare " +
    'Socket.IO ran as before on a single private Redis (its classic redis-adapter and redis-emitter are not ' +
    'cluster-aware); io-session-handler uses no Redis.'
  );
}

function methodNotes(options: BenchOptions): string[] {
  const consumer =
    options.receipts === 'worker'
      ? 'its receipt, consumed from the receipts queue by the `io-session worker` command (spawned by the bench), ' +
        'reached an HTTP receiver in the bench (RECEIPT_WEBHOOK_URL; session events likewise)'
      : 'its receipt job has been consumed from the receipts queue by a plain BullMQ worker in the bench ' +
        '(--receipts bullmq: no worker dedupe state)';
  return [
    `Everything runs on this one machine (${cpus().length} cores): redis-server, the nodes of the system under test, ` +
      `${options.swarm} client swarm process(es) and the bench itself share the CPUs, so absolute figures are lower ` +
      'than with separate machines; the ratios compare systems under the same conditions.',
    `io-session is driven through the BullMQ push queue with { messages: [...] } batch jobs of ${options.batch} ` +
      `messages; a message counts when ${consumer}.`,
    `Throughput: closed loop with ${formatCount(options.window)} pushes in flight, ${options.warmupS} s warm-up, ` +
      `${options.durationS} s measured; latency: open loop (5 ms ticks), receive time minus the send time carried ` +
      'in the push, measured by the clients.',
    'Round trips/msg are top-level commands counted with MONITOR over a separate run (up to 2 s of pushes, ' +
      'counted from before the first push until all are delivered and the queues are idle; an EVALSHA is one); ' +
      'INFO commandstats and total_commands_processed also count the commands scripts run, shown as ' +
      '"commands/msg incl. scripts". Socket reads/msg (total_reads_processed) count pipelines once.',
    'Connects/s: fresh sessions, client connect events; for io-session until the session.started event of ' +
      'every session has been consumed from the session-events queue (so it includes the registration in Redis).',
  ];
}

function projectNotes(options: BenchOptions, result: Measured): string[] {
  const list: string[] = [];
  const probe = result.protocolProbe;
  if (probe && !probe.supported) list.push(`Protocol v3: ${probe.detail}.`);
  const primary = result.systems.project;
  if (!primary) return list;
  const others = (result.projectKinds ?? []).map((s) => s.clientKind).join(', ');
  list.push(
    `io-session client kinds: v3 = the SDK (@io-session/client, Node entry, protocol: 3), v2 = raw socket.io-client ` +
      "acking each push by callback, legacy = the seed's push_message_delivery receipts. The io-session column and " +
      `the targets are ${primary.label}, measured with every figure (idle memory once, the steady run)` +
      (others
        ? `; ${others}: throughput at each session count` +
          (options.kindDetails === 'all' ? ', connects/s, latency and round trips' : '') +
          ' (--kind-details).'
        : '.'),
  );
  const steady = primary.steady;
  if (steady) {
    list.push(
      `Redis bytes held per delivered message: ${steady.durationS} s of closed-loop load at ${formatCount(steady.sessions)} ` +
        `sessions (${formatCount(steady.delivered)} messages), used_memory growth ÷ messages, queues drained before and ` +
        `after, measured ${steady.consumer === 'worker' ? 'with `io-session worker` consuming the receipts (its dedupe state included)' : 'with plain BullMQ workers consuming the receipts (no worker dedupe state)'}.`,
    );
  }
  const scaling = result.scaling;
  if (scaling) {
    list.push(
      `Scaling: ${scaling.runs.map((r) => r.nodes).join(', ')} io-session node process(es), each a fresh system with ` +
        `${formatCount(scaling.sessions)} ${scaling.clientKind} sessions at ${formatCount(scaling.ratePerSec)}/s offered ` +
        `(open loop, ${scaling.durationS} s, one run each; ${scaling.rateSource}); keyspace events and pub/sub ` +
        "messages are per node per second, from each node's /metrics (– where a node does not export the counter).",
    );
  }
  return list;
}

function latencyNotes(systems: SystemResult[]): string[] {
  const list: string[] = [];
  for (const s of systems) {
    const l = s.latency;
    if (l?.saturated) {
      const own = l.ownHalf;
      list.push(
        `${s.label} cannot sustain the latency rate (its maximum is ${formatCount(s.levels[0]?.throughput.median ?? 0)}/s): ` +
          'its latency there is the growth of a queue (one run)' +
          (own
            ? `; at 50% of its own maximum (${formatCount(own.ratePerSec)}/s) p50 ${own.p50Ms.median?.toFixed(1)} ms, ` +
              `p99 ${own.p99Ms.median?.toFixed(1)} ms.`
            : '.'),
      );
    }
    for (const w of s.warnings) list.push(`${s.label}: ${w}`);
  }
  return list;
}

/** The notes under the table: conditions of the run, method, and what each system could not do. */
export function notes(options: BenchOptions, result: Measured, foreign: number | null): string[] {
  const list: string[] = [];
  if (foreign !== null && foreign > 0.05) {
    list.push(
      `Other processes (not the bench's) used ${Math.round(foreign * 100)}% of the machine's CPU time during ` +
        'this run: absolute figures are depressed and noisier than on a quiet machine; ratios less so.',
    );
  }
  if (options.redisCluster) list.push(clusterNote());
  list.push(...methodNotes(options), ...projectNotes(options, result));
  const { systems } = result;
  const latency = systems.project?.latency ?? systems.bare?.latency ?? systems.seed?.latency;
  if (latency) list.push(`Latency rate: ${formatCount(latency.ratePerSec)}/s = ${latency.rateSource}.`);
  const all = [...Object.values(systems), ...(result.projectKinds ?? [])].filter(
    (s): s is SystemResult => s !== undefined,
  );
  list.push(...latencyNotes(all));
  return list;
}
