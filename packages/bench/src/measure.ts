import { MonitorSampler } from './harness/monitor.js';
import { pollUntil, sleep } from './harness/ports.js';
import { totalRss } from './harness/proc.js';
import type { Progress } from './harness/progress.js';
import { deltaOf, takeSnapshot, type RedisSnapshot } from './harness/redis-info.js';
import type { PrivateRedis } from './harness/redis-server.js';
import type { Swarm } from './harness/swarm.js';
import type { LoadHooks, LoadResult, LoadSpec } from './load/pacer.js';
import type { BenchOptions } from './options.js';
import {
  systemLabels,
  type LatencyResult,
  type LevelResult,
  type RedisCost,
  type RoundTrips,
  type SystemName,
  type SystemResult,
} from './report/results.js';
import { measured, percentile } from './report/stats.js';
import { formatCount } from './report/summary.js';
import type { SessionSystem } from './systems/system.js';

/** What every measurement needs. */
export interface Context {
  options: BenchOptions;
  progress: Progress;
  redis: PrivateRedis;
  swarm: Swarm;
  /** Last latency phase id handed out. */
  phase: number;
}

/** Something the load generator can drive (a session system or the raw BullMQ floor). */
interface Loadable {
  runLoad(spec: LoadSpec, hooks?: LoadHooks): Promise<LoadResult>;
}

export interface LatencyPlan {
  ratePerSec: number;
  source: string;
}

const CONNECT_CONCURRENCY = 100;
const DRAIN_MS = 20_000;
const SETTLE_MS = 1000;

const fmt = (n: number) => formatCount(n);
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

function closedSpec(ctx: Context, sessions: number): LoadSpec {
  const o = ctx.options;
  return {
    mode: 'closed',
    window: o.window,
    ratePerSec: 0,
    batch: o.batch,
    warmupMs: o.warmupS * 1000,
    durationMs: o.durationS * 1000,
    drainMs: DRAIN_MS,
    tokenPrefix: 's-',
    sessions,
    phase: 0,
  };
}

/** Per-message Redis cost of several runs, from INFO snapshots at the edges of each measured window. */
class CostRecorder {
  readonly commands: number[] = [];
  readonly processed: number[] = [];
  readonly reads: number[] = [];
  readonly cpuUs: number[] = [];
  byCommand: Record<string, number> = {};
  #before: RedisSnapshot | undefined;
  #after: RedisSnapshot | undefined;

  constructor(private readonly redis: PrivateRedis) {}

  readonly onWindow = async (edge: 'start' | 'end'): Promise<void> => {
    const snapshot = await takeSnapshot(this.redis.admin);
    if (edge === 'start') this.#before = snapshot;
    else this.#after = snapshot;
  };

  add(result: LoadResult): void {
    const n = result.deliveredInWindow;
    if (!this.#before || !this.#after || n <= 0) return;
    const d = deltaOf(this.#before, this.#after);
    this.commands.push(d.commands / n);
    this.processed.push(d.processed / n);
    this.reads.push(d.reads / n);
    this.cpuUs.push((d.cpuS * 1e6) / n);
    this.byCommand = Object.fromEntries(
      Object.entries(d.byCommand)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 20)
        .map(([k, v]) => [k, round(v / n)]),
    );
  }

  result(): RedisCost & { byCommand: Record<string, number> } {
    return {
      commandsPerMsg: measured(this.commands),
      processedPerMsg: measured(this.processed),
      readsPerMsg: measured(this.reads),
      cpuUsPerMsg: measured(this.cpuUs),
      byCommand: this.byCommand,
    };
  }
}

const round = (v: number) => Math.round(v * 1000) / 1000;

/** Closed-loop runs: the maximum delivered rate, with Redis cost per message when Redis is involved. */
async function throughputRuns(
  ctx: Context,
  target: Loadable,
  spec: LoadSpec,
  opts: { label: string; usesRedis: boolean; warnings: string[] },
): Promise<{ throughput: number[]; cost: CostRecorder | null }> {
  const cost = opts.usesRedis ? new CostRecorder(ctx.redis) : null;
  const throughput: number[] = [];
  for (let r = 1; r <= ctx.options.runs; r++) {
    const result = await target.runLoad(spec, {
      ...(cost ? { onWindow: cost.onWindow } : {}),
      onSecond: (i) => ctx.progress.line(`${opts.label}:   ${fmt(i.perSec)}/s delivered`),
    });
    throughput.push(result.deliveredPerSec);
    cost?.add(result);
    if (result.undelivered > 0) {
      opts.warnings.push(`${fmt(result.undelivered)} pushes of throughput run ${r} not delivered within ${DRAIN_MS} ms`);
    }
    ctx.progress.line(
      `${opts.label}: throughput run ${r}/${ctx.options.runs}: ${fmt(result.deliveredPerSec)}/s ` +
        `(${fmt(result.deliveredInWindow)} in ${(result.windowMs / 1000).toFixed(1)} s)`,
    );
  }
  return { throughput, cost };
}

/** A short closed-loop run under MONITOR: top-level commands (an EVALSHA is one) per delivered message. */
async function roundTripRun(ctx: Context, target: Loadable, spec: LoadSpec, label: string): Promise<RoundTrips> {
  const admin = ctx.redis.admin;
  let sampler: MonitorSampler | undefined;
  let counts: ReturnType<MonitorSampler['stop']> | undefined;
  const result = await target.runLoad(
    { ...spec, warmupMs: 500, durationMs: Math.min(2000, spec.durationMs) },
    {
      onWindow: async (edge) => {
        const list = (await admin.call('CLIENT', 'LIST')) as string;
        if (edge === 'start') {
          sampler = await MonitorSampler.start(ctx.redis.port, list);
        } else if (sampler) {
          sampler.learnClients(list);
          counts = sampler.stop();
        }
      },
    },
  );
  const n = result.deliveredInWindow;
  const per = (v: number) => (n > 0 ? round(v / n) : 0);
  const sortedPer = (rec: Record<string, number>) =>
    Object.fromEntries(
      Object.entries(rec)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => [k, per(v)]),
    );
  const trips: RoundTrips = {
    sessions: spec.sessions,
    messages: n,
    perMsg: counts && n > 0 ? counts.topLevel / n : null,
    scriptCallsPerMsg: counts && n > 0 ? counts.scriptCalls / n : null,
    byCommand: counts ? sortedPer(counts.byCommand) : {},
    byClient: counts ? sortedPer(counts.byClient) : {},
  };
  ctx.progress.line(
    `${label}: round trips under MONITOR: ${trips.perMsg?.toFixed(2) ?? '–'} top-level commands per message ` +
      `(${fmt(n)} messages; ${trips.scriptCallsPerMsg?.toFixed(1) ?? '–'} script-internal calls per message)`,
  );
  return trips;
}

/** Baseline (0): raw BullMQ, measured like the others but without sessions. */
export async function measureFloor(
  ctx: Context,
  floor: Loadable & { setup: string; start(): Promise<void>; stop(): Promise<void> },
): Promise<SystemResult> {
  const label = systemLabels.bullmq;
  ctx.progress.line(`${label}: starting two worker processes`);
  await floor.start();
  const warnings: string[] = [];
  const spec = closedSpec(ctx, 1);
  const warm = await floor.runLoad({ ...spec, durationMs: Math.max(600, 2 * spec.warmupMs) });
  ctx.progress.line(`${label}: warm-up run: ${fmt(warm.deliveredPerSec)}/s (not counted)`);
  const { throughput, cost } = await throughputRuns(ctx, floor, spec, { label, usesRedis: true, warnings });
  const roundTrips = await roundTripRun(ctx, floor, spec, label);
  await floor.stop();
  return {
    name: 'bullmq',
    label,
    setup: floor.setup,
    connectsPerSec: null,
    levels: [
      {
        sessions: 0,
        throughput: measured(throughput),
        redis: cost?.result() ?? null,
        redisBytesPerSession: null,
        rssBytesPerConnection: null,
        rampConnectsPerSec: null,
      },
    ],
    latency: null,
    roundTrips,
    warnings,
  };
}

async function connectRuns(ctx: Context, system: SessionSystem, label: string, warnings: string[]) {
  const { options, swarm, progress } = ctx;
  const rates: number[] = [];
  for (let r = 1; r <= options.runs; r++) {
    const prefix = `c${r}-`;
    const tokens = Array.from({ length: options.connectClients }, (_, i) => `${prefix}${i}`);
    const t0 = performance.now();
    const outcome = await swarm.connect(`c${r}`, tokens, {
      urls: system.urls,
      mode: system.clientMode,
      concurrency: CONNECT_CONCURRENCY,
    });
    if (outcome.failed > 0) warnings.push(`${outcome.failed} connects failed in run ${r}: ${outcome.error}`);
    if (system.started) {
      const started = system.started.bind(system);
      await pollUntil(() => started(prefix) >= outcome.ok, {
        timeoutMs: 60_000,
        intervalMs: 5,
        message: `${outcome.ok} sessions ${prefix}* to be registered`,
      });
    }
    const ms = performance.now() - t0;
    rates.push((outcome.ok * 1000) / ms);
    progress.line(
      `${label}: connects/s run ${r}/${options.runs}: ${fmt((outcome.ok * 1000) / ms)}/s ` +
        `(${fmt(outcome.ok)} clients in ${ms.toFixed(0)} ms${system.started ? ', until registered' : ''})`,
    );
    await swarm.disconnect(`c${r}`);
    if (!system.ended) await sleep(SETTLE_MS);
    if (system.ended) {
      const ended = system.ended.bind(system);
      await pollUntil(() => ended(prefix) >= outcome.ok, {
        timeoutMs: 60_000,
        intervalMs: 20,
        message: `${outcome.ok} sessions ${prefix}* to end`,
      });
    }
  }
  return measured(rates);
}

async function latencyRuns(
  ctx: Context,
  system: SessionSystem,
  sessions: number,
  plan: LatencyPlan,
): Promise<LatencyResult> {
  const label = systemLabels[system.name];
  const p50: number[] = [];
  const p99: number[] = [];
  const achieved: number[] = [];
  let total = 0;
  for (let r = 1; r <= ctx.options.runs; r++) {
    const id = ++ctx.phase;
    ctx.swarm.startPhase(id);
    const result = await system.runLoad({
      ...closedSpec(ctx, sessions),
      mode: 'open',
      ratePerSec: plan.ratePerSec,
      phase: id,
    });
    const { samples } = await ctx.swarm.collect(id);
    samples.sort();
    total += samples.length;
    const a = percentile(samples, 50);
    const b = percentile(samples, 99);
    if (a !== null && b !== null) {
      p50.push(a);
      p99.push(b);
    }
    achieved.push(result.sentPerSec);
    ctx.progress.line(
      `${label}: latency run ${r}/${ctx.options.runs} at ${fmt(plan.ratePerSec)}/s: p50 ${a?.toFixed(2)} ms, ` +
        `p99 ${b?.toFixed(2)} ms (${fmt(samples.length)} samples, sent ${fmt(result.sentPerSec)}/s)`,
    );
    await system.settle();
  }
  return {
    ratePerSec: plan.ratePerSec,
    rateSource: plan.source,
    sessions,
    p50Ms: measured(p50),
    p99Ms: measured(p99),
    samples: total,
    achievedPerSec: measured(achieved),
  };
}

/**
 * Everything about one session system: connects/s, then for each session count the memory of idle sessions
 * and the maximum throughput, and at the first count the latency at a fixed rate and the round trips.
 */
export async function measureSessions(
  ctx: Context,
  system: SessionSystem,
  latencyPlan: (ownMax: number | null) => LatencyPlan,
): Promise<SystemResult> {
  const { options, swarm, progress, redis } = ctx;
  const label = systemLabels[system.name];
  const say = (text: string) => progress.line(`${label}: ${text}`);
  say('starting');
  await system.start();
  say(`up at ${system.urls.join(', ')} (pid ${system.pids.join(', ')})`);
  const warnings: string[] = [];
  const connectsPerSec = await connectRuns(ctx, system, label, warnings);

  const levels: LevelResult[] = [];
  let latency: LatencyResult | null = null;
  let roundTrips: RoundTrips | null = null;
  let connected = 0;
  for (const [index, n] of options.sessions.entries()) {
    await system.settle();
    const rss0 = totalRss(system.pids);
    const mem0 = (await takeSnapshot(redis.admin)).usedMemory;
    const tokens = Array.from({ length: n - connected }, (_, i) => `s-${connected + i}`);
    const t0 = performance.now();
    let lastLine = t0;
    const outcome = await swarm.connect(`s${n}`, tokens, {
      urls: system.urls,
      mode: system.clientMode,
      concurrency: CONNECT_CONCURRENCY,
      onProgress: (ok) => {
        if (performance.now() - lastLine < 1000) return;
        lastLine = performance.now();
        say(`  ${fmt(connected + ok)} of ${fmt(n)} clients connected`);
      },
    });
    if (outcome.failed > 0) warnings.push(`${outcome.failed} of ${tokens.length} connects failed: ${outcome.error}`);
    if (system.started) {
      const started = system.started.bind(system);
      const want = connected + outcome.ok;
      await pollUntil(() => started('s-') >= want, {
        timeoutMs: 120_000,
        intervalMs: 10,
        message: `${want} sessions to be registered`,
      });
    }
    const rampMs = performance.now() - t0;
    connected += outcome.ok;
    await system.settle();
    await sleep(SETTLE_MS);
    const rss1 = totalRss(system.pids);
    const mem1 = (await takeSnapshot(redis.admin)).usedMemory;
    const added = Math.max(1, outcome.ok);
    const level: LevelResult = {
      sessions: n,
      throughput: measured([]),
      redis: null,
      redisBytesPerSession: system.usesRedis ? (mem1 - mem0) / added : null,
      rssBytesPerConnection: rss0 !== null && rss1 !== null ? (rss1 - rss0) / added : null,
      rampConnectsPerSec: (outcome.ok * 1000) / rampMs,
    };
    say(
      `${fmt(connected)} sessions (+${fmt(outcome.ok)} in ${(rampMs / 1000).toFixed(1)} s): node RSS ` +
        `${rss1 !== null && rss0 !== null ? `+${mb(rss1 - rss0)}` : '?'}` +
        (system.usesRedis ? `, Redis used_memory +${mb(mem1 - mem0)}` : ''),
    );
    const spec = closedSpec(ctx, n);
    if (index === 0) {
      // JIT, connection pools and Redis' script cache warm up in the first seconds of load: not measured.
      const warm = await system.runLoad({ ...spec, durationMs: Math.max(600, 2 * spec.warmupMs) });
      say(`warm-up run: ${fmt(warm.deliveredPerSec)}/s (not counted)`);
      await system.settle();
    }
    const { throughput, cost } = await throughputRuns(ctx, system, spec, {
      label: `${label} @ ${fmt(n)}`,
      usesRedis: system.usesRedis,
      warnings,
    });
    level.throughput = measured(throughput);
    level.redis = cost?.result() ?? null;
    levels.push(level);
    await system.settle();
    if (index === 0) {
      latency = await latencyRuns(ctx, system, n, latencyPlan(level.throughput.median));
      if (system.usesRedis) roundTrips = await roundTripRun(ctx, system, spec, label);
      await system.settle();
    }
  }
  for (const n of options.sessions) await swarm.disconnect(`s${n}`);
  say('stopping');
  await system.stop();
  return {
    name: system.name as SystemName,
    label,
    setup: system.setup,
    connectsPerSec,
    levels,
    latency,
    roundTrips,
    warnings,
  };
}
