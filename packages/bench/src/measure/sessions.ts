import { growthPer, memoryByPattern } from '../harness/memory-breakdown.js';
import { pollUntil, sleep } from '@io-session/devtools';
import { totalRss } from '../harness/proc.js';
import { takeSnapshot } from '../harness/redis-info.js';
import type { LevelResult, SystemName, SystemResult } from '../report/results.js';
import { measured } from '../report/stats.js';
import { labelOf, type SessionSystem } from '../systems/system.js';
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
import { groupPushRun } from './group-push.js';
import { steadyRun } from './steady.js';

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
  const say = (text: string) => ctx.progress.line(`${labelOf(system)}: ${text}`);
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

/** What of one session system is measured besides throughput at each session count. */
export interface SessionScope {
  /** Redis bytes and node RSS per idle session while the clients connect (on the fresh system). */
  memory: boolean;
  /** Connects/s, latency and round trips at the first session count. */
  details: boolean;
  /** Seconds of the steady run (Redis bytes held per message) at the first session count; 0: none. */
  steadyS: number;
  /** Members of the group-push run (messages/s to a group's members), for systems with groups; 0: none. */
  groupMembers?: number;
  /** Session counts; default `--sessions`. */
  sessions?: number[];
}

export const fullScope: SessionScope = { memory: true, details: true, steadyS: 0 };

const emptyLevel = (sessions: number): LevelResult => ({
  sessions,
  throughput: measured([]),
  redis: null,
  cpuUsPerMsg: { nodes: measured([]), clients: measured([]), bench: measured([]) },
  redisBytesPerSession: null,
  rssBytesPerConnection: null,
  rampConnectsPerSec: null,
});

/** 1. Clients connect in chunks up to each session count; with `memory`, idle memory after each chunk. */
async function rampUp(
  ctx: Context,
  system: SessionSystem,
  scope: SessionScope,
  warnings: string[],
): Promise<LevelResult[]> {
  const { redis } = ctx;
  const say = (text: string) => ctx.progress.line(`${labelOf(system)}: ${text}`);
  const withRedis = scope.memory && system.usesRedis;
  const rss0 = totalRss(system.pids);
  const snap0 = await takeSnapshot(redis);
  const mem0 = snap0.usedMemory;
  const keys0 = withRedis ? await memoryByPattern(redis) : [];
  const levels: LevelResult[] = [];
  let connected = 0;
  for (const n of scope.sessions ?? ctx.options.sessions) {
    const chunk = await connectChunk(ctx, system, { from: connected, to: n, warnings });
    connected += chunk.ok;
    const level = { ...emptyLevel(n), rampConnectsPerSec: (chunk.ok * 1000) / chunk.ms };
    levels.push(level);
    if (!scope.memory) continue;
    await system.settle();
    await sleep(settleMs(ctx));
    const rss1 = totalRss(system.pids);
    const snap1 = await takeSnapshot(redis);
    const mem1 = snap1.usedMemory;
    const byKey = withRedis ? growthPer(keys0, await memoryByPattern(redis), connected) : undefined;
    level.redisBytesPerSession = system.usesRedis ? (mem1 - mem0) / Math.max(1, connected) : null;
    if (byKey) level.redisBytesPerSessionByKey = byKey;
    level.rssBytesPerConnection =
      rss0 !== null && rss1 !== null ? (rss1 - rss0) / Math.max(1, connected) : null;
    say(
      `${fmt(connected)} idle sessions (+${fmt(chunk.ok)} in ${(chunk.ms / 1000).toFixed(1)} s): node RSS ` +
        `${rss1 !== null && rss0 !== null ? `+${mb(rss1 - rss0)}` : '?'}` +
        (system.usesRedis
          ? `, Redis used_memory +${mb(mem1 - mem0)} (connection buffers ${mb(snap1.clientsMemory - snap0.clientsMemory)})`
          : '') +
        ' since the start',
    );
  }
  return levels;
}

/** 2. Throughput, from the largest session count down (disconnecting the clients above each). */
async function throughputLevels(
  ctx: Context,
  system: SessionSystem,
  levels: LevelResult[],
  warnings: string[],
): Promise<void> {
  const label = labelOf(system);
  const say = (text: string) => ctx.progress.line(`${label}: ${text}`);
  for (let i = levels.length - 1; i >= 0; i--) {
    const level = levels[i]!;
    const n = level.sessions;
    const above = levels[i + 1];
    if (above) {
      say(`disconnecting down to ${fmt(n)} sessions`);
      await disconnectChunk(ctx, system, n, above.sessions);
    }
    const spec = closedSpec(ctx, n);
    if (!above) {
      // JIT, connection pools and Redis' script cache warm up in the first seconds of load: not measured.
      const warm = await system.runLoad({ ...spec, durationMs: Math.max(600, 2 * spec.warmupMs) });
      say(`warm-up run: ${fmt(warm.deliveredPerSec)}/s (not counted)`);
      await system.settle();
    }
    const memRuns = (await takeSnapshot(ctx.redis)).usedMemory;
    const { throughput, cost } = await throughputRuns(ctx, system, spec, {
      label: `${label} @ ${fmt(n)}`,
      usesRedis: system.usesRedis,
      warnings,
      groups: { nodes: system.pids, clients: ctx.swarm.pids, worker: system.workerPids ?? [] },
    });
    level.throughput = measured(throughput);
    level.redis = cost.redisCost();
    level.cpuUsPerMsg = cost.processCpu();
    await system.settle();
    if (system.usesRedis) {
      const mem2 = (await takeSnapshot(ctx.redis)).usedMemory;
      level.redisBytesRetainedPerMsg = cost.delivered > 0 ? (mem2 - memRuns) / cost.delivered : null;
    }
  }
}

/** 3. At the first session count: connects/s of fresh sessions, latency at the plan's rate, round trips. */
async function firstLevelDetails(
  ctx: Context,
  system: SessionSystem,
  input: { first: LevelResult; latencyPlan: (ownMax: number | null) => LatencyPlan; warnings: string[] },
): Promise<Pick<SystemResult, 'connectsPerSec' | 'latency' | 'roundTrips'>> {
  const { first, latencyPlan, warnings } = input;
  const label = labelOf(system);
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
  return { connectsPerSec, latency, roundTrips };
}

/**
 * Everything about one session system, in an order that keeps each figure clean:
 * 1. on the fresh, idle system, clients connect in chunks up to each session count (memory per idle session
 *    and per connection, taken before any load, from the system's start);
 * 2. from the largest session count down (disconnecting the clients above it): maximum throughput;
 * 3. at the smallest: the steady run (Redis bytes held per message), connects/s of fresh sessions, latency at
 *    the plan's rate, round trips under MONITOR — each as `scope` asks.
 */
export async function measureSessions(
  ctx: Context,
  system: SessionSystem,
  latencyPlan: (ownMax: number | null) => LatencyPlan,
  scope: SessionScope = fullScope,
): Promise<SystemResult> {
  const label = labelOf(system);
  const say = (text: string) => ctx.progress.line(`${label}: ${text}`);
  say('starting');
  await system.start();
  say(`up at ${system.urls.join(', ')} (pid ${system.pids.join(', ')})`);
  const warnings: string[] = [];
  await system.settle();
  await sleep(settleMs(ctx));
  const levels = await rampUp(ctx, system, scope, warnings);
  await throughputLevels(ctx, system, levels, warnings);
  const first = levels[0]!;
  const steady = scope.steadyS > 0 ? await steadyRun(ctx, system, first.sessions, scope.steadyS) : null;
  const { groups } = system;
  const groupPush =
    scope.groupMembers && groups
      ? await groupPushRun(ctx, system, { groups, members: scope.groupMembers })
      : null;
  const details = scope.details
    ? await firstLevelDetails(ctx, system, { first, latencyPlan, warnings })
    : { connectsPerSec: null, latency: null, roundTrips: null };
  await ctx.swarm.disconnect(`s${first.sessions}`);
  say('stopping');
  await system.stop();
  return {
    name: system.name as SystemName,
    label,
    ...(system.name === 'project' ? { clientKind: system.clientMode } : {}),
    setup: system.setup,
    ...details,
    levels,
    warnings,
    ...(steady ? { steady } : {}),
    ...(groupPush ? { groupPush } : {}),
  };
}
