import { growthPer, memoryByPattern } from '../harness/memory-breakdown.js';
import { pollUntil, sleep } from '@io-session/devtools';
import { totalRss } from '../harness/proc.js';
import { takeSnapshot } from '../harness/redis-info.js';
import { systemLabels, type LevelResult, type SystemName, type SystemResult } from '../report/results.js';
import { measured } from '../report/stats.js';
import type { SessionSystem } from '../systems/system.js';
import {
  closedSpec,
  CONNECT_CONCURRENCY,
  fmt,
  mb,
  settleMs,
  type Context,
  type LatencyPlan,
} from './context.js';
import { measureLatency } from './latency.js';
import { roundTripRun, throughputRuns } from './load-runs.js';

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
    if (!system.ended) await sleep(settleMs(ctx));
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

/** Connects the clients of tokens `s-<from>` … `s-<to - 1>` as swarm group `s<to>`; waits for registration. */
async function connectChunk(
  ctx: Context,
  system: SessionSystem,
  range: { from: number; to: number; warnings: string[] },
) {
  const { from, to, warnings } = range;
  const say = (text: string) => ctx.progress.line(`${systemLabels[system.name]}: ${text}`);
  const tokens = Array.from({ length: to - from }, (_, i) => `s-${from + i}`);
  const t0 = performance.now();
  let lastLine = t0;
  const outcome = await ctx.swarm.connect(`s${to}`, tokens, {
    urls: system.urls,
    mode: system.clientMode,
    concurrency: CONNECT_CONCURRENCY,
    onProgress: (ok) => {
      if (performance.now() - lastLine < 1000) return;
      lastLine = performance.now();
      say(`  ${fmt(from + ok)} of ${fmt(to)} clients connected`);
    },
  });
  if (outcome.failed > 0)
    warnings.push(`${outcome.failed} of ${tokens.length} connects failed: ${outcome.error}`);
  if (system.started) {
    const started = system.started.bind(system);
    const want = from + outcome.ok;
    await pollUntil(() => started('s-') >= want, {
      timeoutMs: 120_000,
      intervalMs: 10,
      message: `${want} sessions to be registered`,
    });
  }
  return { ok: outcome.ok, ms: performance.now() - t0 };
}

/** Disconnects swarm group `s<to>` (tokens `s-<from>` … `s-<to - 1>`) and waits until their sessions ended. */
async function disconnectChunk(ctx: Context, system: SessionSystem, from: number, to: number): Promise<void> {
  await ctx.swarm.disconnect(`s${to}`);
  if (system.ended) {
    const ended = system.ended.bind(system);
    await pollUntil(() => ended('s-') >= to - from, {
      timeoutMs: 60_000,
      intervalMs: 20,
      message: `${to - from} sessions to end`,
    });
  }
  await system.settle();
  await sleep(settleMs(ctx));
}

/**
 * Everything about one session system, in an order that keeps each figure clean:
 * 1. on the fresh, idle system, clients connect in chunks up to each session count (memory per idle session
 *    and per connection, taken before any load, from the system's start);
 * 2. from the largest session count down (disconnecting the clients above it): maximum throughput;
 * 3. at the smallest: connects/s of fresh sessions, latency at the plan's rate, round trips under MONITOR.
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
  await system.settle();
  await sleep(settleMs(ctx));

  // 1. Idle memory, chunk by chunk from zero.
  const rss0 = totalRss(system.pids);
  const mem0 = (await takeSnapshot(redis)).usedMemory;
  const keys0 = system.usesRedis ? await memoryByPattern(redis) : [];
  const levels: LevelResult[] = [];
  let connected = 0;
  for (const n of options.sessions) {
    const chunk = await connectChunk(ctx, system, { from: connected, to: n, warnings });
    connected += chunk.ok;
    await system.settle();
    await sleep(settleMs(ctx));
    const rss1 = totalRss(system.pids);
    const mem1 = (await takeSnapshot(redis)).usedMemory;
    const byKey = system.usesRedis ? growthPer(keys0, await memoryByPattern(redis), connected) : undefined;
    levels.push({
      sessions: n,
      throughput: measured([]),
      redis: null,
      cpuUsPerMsg: { nodes: measured([]), clients: measured([]), bench: measured([]) },
      redisBytesPerSession: system.usesRedis ? (mem1 - mem0) / Math.max(1, connected) : null,
      ...(byKey ? { redisBytesPerSessionByKey: byKey } : {}),
      rssBytesPerConnection: rss0 !== null && rss1 !== null ? (rss1 - rss0) / Math.max(1, connected) : null,
      rampConnectsPerSec: (chunk.ok * 1000) / chunk.ms,
    });
    say(
      `${fmt(connected)} idle sessions (+${fmt(chunk.ok)} in ${(chunk.ms / 1000).toFixed(1)} s): node RSS ` +
        `${rss1 !== null && rss0 !== null ? `+${mb(rss1 - rss0)}` : '?'}` +
        (system.usesRedis ? `, Redis used_memory +${mb(mem1 - mem0)}` : '') +
        ' since the start',
    );
  }

  // 2. Throughput, from the largest session count down.
  let warmedUp = false;
  for (let i = levels.length - 1; i >= 0; i--) {
    const level = levels[i]!;
    const n = level.sessions;
    const above = levels[i + 1];
    if (above) {
      say(`disconnecting down to ${fmt(n)} sessions`);
      await disconnectChunk(ctx, system, n, above.sessions);
    }
    const spec = closedSpec(ctx, n);
    if (!warmedUp) {
      // JIT, connection pools and Redis' script cache warm up in the first seconds of load: not measured.
      const warm = await system.runLoad({ ...spec, durationMs: Math.max(600, 2 * spec.warmupMs) });
      say(`warm-up run: ${fmt(warm.deliveredPerSec)}/s (not counted)`);
      await system.settle();
      warmedUp = true;
    }
    const memRuns = (await takeSnapshot(redis)).usedMemory;
    const { throughput, cost } = await throughputRuns(ctx, system, spec, {
      label: `${label} @ ${fmt(n)}`,
      usesRedis: system.usesRedis,
      warnings,
      groups: { nodes: system.pids, clients: swarm.pids },
    });
    level.throughput = measured(throughput);
    level.redis = cost.redisCost();
    level.cpuUsPerMsg = cost.processCpu();
    await system.settle();
    if (system.usesRedis) {
      const mem2 = (await takeSnapshot(redis)).usedMemory;
      level.redisBytesRetainedPerMsg = cost.delivered > 0 ? (mem2 - memRuns) / cost.delivered : null;
    }
  }

  // 3. At the smallest session count: connects/s, latency, round trips.
  const first = levels[0]!;
  const connectsPerSec = await connectRuns(ctx, system, label, warnings);
  const ownMax = first.throughput.median;
  const latency = await measureLatency(ctx, system, {
    sessions: first.sessions,
    plan: latencyPlan(ownMax),
    ownMax,
  });
  const roundTrips = system.usesRedis
    ? await roundTripRun(ctx, system, closedSpec(ctx, first.sessions), label)
    : null;

  for (const level of levels.slice(0, 1)) await swarm.disconnect(`s${level.sessions}`);
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
