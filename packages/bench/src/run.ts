import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { ForeignCpu } from './harness/cpu.js';
import { ProcessGroup, stopOnExit } from '@io-session/devtools';
import { Progress } from './harness/progress.js';
import { startPrivateCluster } from './harness/redis-cluster.js';
import { flushAll, startPrivateRedis, type PrivateRedis } from './harness/redis-server.js';
import { Swarm } from './harness/swarm.js';
import {
  measureFloor,
  measureProject,
  measureSessions,
  type Context,
  type LatencyPlan,
  type ProjectOutcome,
} from './measure/index.js';
import { parseBenchArgs, usage, type BenchOptions } from './options.js';
import { notes } from './report/notes.js';
import { renderHtml, renderJson, renderTable } from './report/render.js';
import type { BenchResult, MachineInfo, SystemResult } from './report/results.js';
import { computeFigures, computeTargets, formatCount } from './report/summary.js';
import { BareSystem } from './systems/bare.js';
import { BullmqFloor } from './systems/bullmq-floor.js';
import { SeedSystem } from './systems/seed.js';

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

/** The private Redis of the run, and with --redis-cluster the private Redis Cluster next to it. */
async function startRedis(
  options: BenchOptions,
  group: ProcessGroup,
  progress: Progress,
): Promise<{ single: PrivateRedis; cluster: PrivateRedis | undefined }> {
  const single = await startPrivateRedis(group);
  progress.line(`private redis-server ${single.version} on port ${single.port} (memory only)`);
  // --redis-cluster: io-session and raw BullMQ run on a private Redis Cluster; bare Socket.IO stays on the
  // single Redis (its classic adapter and emitter are not cluster-aware).
  if (!options.redisCluster) return { single, cluster: undefined };
  const cluster = await startPrivateCluster(group);
  progress.line(
    `private Redis Cluster ${cluster.version}: primaries on ports ${cluster.primaries.map((p) => p.port).join(', ')} ` +
      `(+ ${cluster.cluster!.length - cluster.primaries.length} replicas, memory only)`,
  );
  return { single, cluster };
}

/** Latency is measured at 50% of bare Socket.IO's maximum (or --latency-rate); until bare ran, at 50% of one's own. */
class LatencyPlans {
  #plan: LatencyPlan | undefined;

  constructor(
    private readonly options: BenchOptions,
    rate = options.latencyRate,
  ) {
    if (rate) this.#plan = { ratePerSec: rate, source: 'set with --latency-rate' };
  }

  readonly planFor = (ownMax: number | null): LatencyPlan => {
    if (this.#plan) return this.#plan;
    const first = this.options.sessions[0] ?? 0;
    return {
      ratePerSec: Math.max(1, Math.round((ownMax ?? 2) / 2)),
      source: `50% of this system's own maximum at ${formatCount(first)} sessions (bare Socket.IO was not measured)`,
    };
  };

  fromBare(bare: SystemResult | undefined): void {
    const max = bare?.levels[0]?.throughput.median;
    if (this.#plan || !max) return;
    this.#plan = {
      ratePerSec: Math.max(1, Math.round(max / 2)),
      source: `50% of bare Socket.IO's maximum (${formatCount(max)}/s) at ${formatCount(this.options.sessions[0] ?? 0)} sessions`,
    };
  }
}

interface Measurements {
  systems: BenchResult['systems'];
  project: ProjectOutcome | undefined;
}

/** Each system in turn, alone, on its Redis (flushed after each). */
async function measureAll(
  ctx: Context,
  group: ProcessGroup,
  redis: { single: PrivateRedis; cluster: PrivateRedis | undefined },
): Promise<Measurements> {
  const { options } = ctx;
  const shared = redis.cluster ?? redis.single;
  const out: Measurements = { systems: {}, project: undefined };
  if (options.only.includes('bullmq')) {
    out.systems.bullmq = await measureFloor(ctx, new BullmqFloor(group, shared, options.batch));
    await flushAll(shared);
  }
  const plans = new LatencyPlans(options);
  if (options.only.includes('bare')) {
    ctx.redis = redis.single;
    out.systems.bare = await measureSessions(ctx, new BareSystem(group, redis.single.url), plans.planFor);
    plans.fromBare(out.systems.bare);
    await flushAll(redis.single);
  }
  if (options.only.includes('seed')) {
    ctx.redis = shared;
    out.systems.seed = await measureSessions(ctx, new SeedSystem(group), plans.planFor);
  }
  if (options.only.includes('project')) {
    ctx.redis = shared;
    out.project = await measureProject(ctx, { group, single: redis.single, latencyPlan: plans.planFor });
    if (out.project.primary) out.systems.project = out.project.primary;
    await flushAll(shared);
  }
  return out;
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
  const redis = await startRedis(options, group, progress);
  const swarm = await Swarm.start(group, options.swarm);
  progress.line(`client swarm: ${options.swarm} process(es)`);
  const ctx: Context = { options, progress, redis: redis.cluster ?? redis.single, swarm, phase: 0 };
  const measured = await measureAll(ctx, group, redis);
  await redis.cluster?.stop();
  await redis.single.stop();
  await group.stopAll();
  const foreignShare = foreign.share();
  return assemble({
    options,
    measured,
    startedAt,
    machine: machineInfo(redis.cluster ?? redis.single, loadAvgStart, foreignShare),
  });
}

function machineInfo(redis: PrivateRedis, loadAvgStart: number, foreignShare: number | null): MachineInfo {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    redis: redis.cluster
      ? `${redis.version} (Redis Cluster: ${redis.primaries.length} primaries + ${redis.cluster.length - redis.primaries.length} replicas)`
      : redis.version,
    platform: `${platform()} ${release()}`,
    loadAvgStart: round2(loadAvgStart),
    foreignCpuShare: foreignShare === null ? null : round2(foreignShare),
  };
}

function assemble(input: {
  options: BenchOptions;
  measured: Measurements;
  startedAt: Date;
  machine: MachineInfo;
}): BenchResult {
  const { options, measured, startedAt, machine } = input;
  const finishedAt = new Date();
  const { help: _help, latencyRate: _rate, out: _out, cpuProf: _prof, ...record } = options;
  const project = measured.project;
  const partial = {
    version: 2 as const,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    elapsedS: Math.round((finishedAt.getTime() - startedAt.getTime()) / 100) / 10,
    machine,
    options: record,
    systems: measured.systems,
    projectKinds: project?.others ?? [],
    protocolProbe: project?.probe ?? null,
    scaling: project?.scaling ?? null,
    clusterReference: project?.clusterReference ?? null,
  };
  return {
    ...partial,
    notes: notes(options, partial, machine.foreignCpuShare),
    figures: computeFigures(partial.systems, options),
    targets: computeTargets(partial, options),
  };
}

const round2 = (n: number) => Math.round(n * 100) / 100;
