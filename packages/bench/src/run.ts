import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { ForeignCpu } from './harness/cpu.js';
import { ProcessGroup, stopOnExit } from '@io-session/devtools';
import { Progress } from './harness/progress.js';
import { startPrivateCluster } from './harness/redis-cluster.js';
import { flushAll, startPrivateRedis, type PrivateRedis } from './harness/redis-server.js';
import { Swarm } from './harness/swarm.js';
import { measureFloor, measureSessions, type Context, type LatencyPlan } from './measure/index.js';
import { parseBenchArgs, usage, type BenchOptions } from './options.js';
import { renderHtml, renderJson, renderTable } from './report/render.js';
import type { BenchResult, SystemName } from './report/results.js';
import { computeFigures, computeTargets, formatCount } from './report/summary.js';
import { BareSystem } from './systems/bare.js';
import { BullmqFloor } from './systems/bullmq-floor.js';
import { ProjectSystem } from './systems/project.js';
import { SeedSystem } from './systems/seed.js';
import type { SessionSystem } from './systems/system.js';

/**
 * `io-session bench [options]`: measures io-session against its baselines on this machine and reports.
 * Exits 2 on a bad option; throws (after stopping every process it started) when a measurement fails.
 */
export async function runBench(args: string[]): Promise<void> {
  let options: BenchOptions;
  try {
    options = parseBenchArgs(args);
  } catch (err) {
    process.stderr.write(`io-session bench: ${err instanceof Error ? err.message : String(err)}\n\n${usage}`);
    process.exit(2);
  }
  if (options.help) {
    process.stdout.write(usage);
    return;
  }
  const progress = new Progress();
  const group = new ProcessGroup();
  const release = stopOnExit(group, (line) => progress.line(line));
  try {
    const result = await benchmark(options, group, progress);
    const files = writeResults(result, options.out);
    process.stdout.write(`\n${renderTable(result)}`);
    progress.line(`wrote ${files.join(', ')}`);
  } finally {
    await group.stopAll();
    release();
  }
}

/** Writes `<out>/<timestamp>.json|html` and `<out>/latest.json|html`; returns the paths. */
export function writeResults(result: BenchResult, out: string): string[] {
  mkdirSync(out, { recursive: true });
  const stamp = result.startedAt.replace(/[:.]/g, '-');
  const json = renderJson(result);
  const html = renderHtml(result);
  const files: [string, string][] = [
    [join(out, `${stamp}.json`), json],
    [join(out, `${stamp}.html`), html],
    [join(out, 'latest.json'), json],
    [join(out, 'latest.html'), html],
  ];
  for (const [path, text] of files) writeFileSync(path, text);
  return files.map(([path]) => path);
}

function createSystem(name: Exclude<SystemName, 'bullmq'>, ctx: Context, group: ProcessGroup): SessionSystem {
  const url = ctx.redis.url;
  if (name === 'bare') return new BareSystem(group, url);
  if (name === 'seed') return new SeedSystem(group);
  return new ProjectSystem(group, {
    redisUrl: url,
    redisCluster: ctx.redis.cluster,
    clientMode: ctx.options.projectClients,
    batch: ctx.options.batch,
    ...(ctx.options.cpuProf ? { cpuProfDir: join(ctx.options.out, 'profiles') } : {}),
  });
}

async function benchmark(
  options: BenchOptions,
  group: ProcessGroup,
  progress: Progress,
): Promise<BenchResult> {
  const startedAt = new Date();
  const loadAvgStart = loadavg()[0] ?? 0;
  const foreign = new ForeignCpu();
  progress.line(
    `io-session bench: ${options.only.join(', ')} at ${options.sessions.map(formatCount).join(', ')} sessions, ` +
      `${options.runs} run(s) of ${options.durationS} s`,
  );
  const single = await startPrivateRedis(group);
  progress.line(`private redis-server ${single.version} on port ${single.port} (memory only)`);
  // --redis-cluster: io-session and raw BullMQ run on a private Redis Cluster; bare Socket.IO stays on the
  // single Redis (its classic adapter and emitter are not cluster-aware).
  let cluster: PrivateRedis | undefined;
  if (options.redisCluster) {
    cluster = await startPrivateCluster(group);
    progress.line(
      `private Redis Cluster ${cluster.version}: primaries on ports ${cluster.primaries.map((p) => p.port).join(', ')} ` +
        `(+ ${cluster.cluster!.length - cluster.primaries.length} replicas, memory only)`,
    );
  }
  const redis = cluster ?? single;
  const swarm = await Swarm.start(group, options.swarm);
  progress.line(`client swarm: ${options.swarm} process(es)`);
  const ctx: Context = { options, progress, redis, swarm, phase: 0 };
  const redisFor = (name: SystemName): PrivateRedis => (name === 'bare' ? single : redis);
  const systems: BenchResult['systems'] = {};

  if (options.only.includes('bullmq')) {
    systems.bullmq = await measureFloor(ctx, new BullmqFloor(group, redis, options.batch));
    await flushAll(redis);
  }

  let plan: LatencyPlan | undefined = options.latencyRate
    ? { ratePerSec: options.latencyRate, source: 'set with --latency-rate' }
    : undefined;
  const first = options.sessions[0] ?? 0;
  for (const name of ['bare', 'seed', 'project'] as const) {
    if (!options.only.includes(name)) continue;
    ctx.redis = redisFor(name);
    const system = createSystem(name, ctx, group);
    systems[name] = await measureSessions(ctx, system, (ownMax) => {
      if (plan) return plan;
      const max = Math.max(1, Math.round((ownMax ?? 2) / 2));
      return {
        ratePerSec: max,
        source: `50% of this system's own maximum at ${formatCount(first)} sessions (bare Socket.IO was not measured)`,
      };
    });
    if (name === 'bare' && !plan) {
      const max = systems.bare?.levels[0]?.throughput.median;
      if (max) {
        plan = {
          ratePerSec: Math.max(1, Math.round(max / 2)),
          source: `50% of bare Socket.IO's maximum (${formatCount(max)}/s) at ${formatCount(first)} sessions`,
        };
      }
    }
    await flushAll(ctx.redis);
  }
  await cluster?.stop();
  await single.stop();
  await group.stopAll();
  const foreignShare = foreign.share();

  const finishedAt = new Date();
  const record = {
    sessions: options.sessions,
    runs: options.runs,
    durationS: options.durationS,
    warmupS: options.warmupS,
    connectClients: options.connectClients,
    batch: options.batch,
    window: options.window,
    swarm: options.swarm,
    only: options.only,
    projectClients: options.projectClients,
    quick: options.quick,
    redisCluster: options.redisCluster,
  };
  return {
    version: 1,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    elapsedS: Math.round((finishedAt.getTime() - startedAt.getTime()) / 100) / 10,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      redis: cluster
        ? `${cluster.version} (Redis Cluster: ${cluster.primaries.length} primaries + ${cluster.cluster!.length - cluster.primaries.length} replicas)`
        : redis.version,
      platform: `${platform()} ${release()}`,
      loadAvgStart: round2(loadAvgStart),
      foreignCpuShare: foreignShare === null ? null : round2(foreignShare),
    },
    options: record,
    notes: notes(options, systems, foreignShare),
    systems,
    figures: computeFigures(systems, options),
    targets: computeTargets(systems, options),
  };
}

const round2 = (n: number) => Math.round(n * 100) / 100;

function notes(options: BenchOptions, systems: BenchResult['systems'], foreign: number | null): string[] {
  const list: string[] = [];
  if (foreign !== null && foreign > 0.05) {
    list.push(
      `Other processes (not the bench's) used ${Math.round(foreign * 100)}% of the machine's CPU time during ` +
        'this run: absolute figures are depressed and noisier than on a quiet machine; ratios less so.',
    );
  }
  if (options.redisCluster) {
    list.push(
      'Redis Cluster: io-session (REDIS_CLUSTER, BullMQ prefix {bench}) and raw BullMQ (prefix {benchfloor}) ran on a ' +
        'private Redis Cluster of 3 primaries + 3 replicas on this machine; their Redis-side figures (INFO ' +
        'commandstats, stats, cpu and used_memory deltas, MONITOR round trips) are summed over the 3 primaries ' +
        '(replicas, which apply the replication stream, are not counted). Bare Socket.IO ran as before on a single ' +
        'private Redis (its classic redis-adapter and redis-emitter are not cluster-aware); io-session-handler uses no Redis.',
    );
  }
  list.push(
    `Everything runs on this one machine (${cpus().length} cores): redis-server, the nodes of the system under test, ` +
      `${options.swarm} client swarm process(es) and the bench itself share the CPUs, so absolute figures are lower ` +
      'than with separate machines; the ratios compare systems under the same conditions.',
    `io-session is driven through the BullMQ push queue with { messages: [...] } batch jobs of ${options.batch} ` +
      'messages; a message counts when its receipt job has been consumed from the receipts queue.',
    `Throughput: closed loop with ${formatCount(options.window)} pushes in flight, ${options.warmupS} s warm-up, ` +
      `${options.durationS} s measured; latency: open loop (5 ms ticks), receive time minus the send time carried ` +
      'in the push, measured by the clients.',
    'Round trips/msg are top-level commands counted with MONITOR over a separate run (up to 2 s of pushes, ' +
      'counted from before the first push until all are delivered and the queues are idle; an EVALSHA is one); ' +
      'INFO commandstats and total_commands_processed also count the commands scripts run, shown as ' +
      '"commands/msg incl. scripts". Socket reads/msg (total_reads_processed) count pipelines once.',
    'Connects/s: fresh sessions, client connect events; for io-session until the session.started event of ' +
      'every session has been consumed from the session-events queue (so it includes the registration in Redis).',
  );
  const latency = systems.project?.latency ?? systems.bare?.latency ?? systems.seed?.latency;
  if (latency) list.push(`Latency rate: ${formatCount(latency.ratePerSec)}/s = ${latency.rateSource}.`);
  for (const s of Object.values(systems)) {
    const l = s?.latency;
    if (s && l?.saturated) {
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
    for (const w of s?.warnings ?? []) list.push(`${s?.label}: ${w}`);
  }
  return list;
}
