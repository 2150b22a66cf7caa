import { pollUntil, sleep } from '@io-session/devtools';
import type { CounterName } from '../harness/node-metrics.js';
import { totalCpuUs } from '../harness/proc.js';
import { flushAll } from '../harness/redis-server.js';
import type { ClientKind, ScalingResult, ScalingRun } from '../report/results.js';
import type { ProjectSystem } from '../systems/project.js';
import { closedSpec, CONNECT_CONCURRENCY, fmt, settleMs, type Context, type LatencyPlan } from './context.js';

interface Edge {
  at: number;
  cpuUs: number | null;
  counters: Record<CounterName, number | null>[];
}

/** Per node: (after − before) ÷ seconds; null when any node does not export the counter. */
function perNodePerSec(before: Edge, after: Edge, name: CounterName): number[] | null {
  const seconds = (after.at - before.at) / 1000;
  const out: number[] = [];
  for (const [i, a] of after.counters.entries()) {
    const b = before.counters[i]?.[name];
    const v = a[name];
    if (b === null || b === undefined || v === null || seconds <= 0) return null;
    out.push((v - b) / seconds);
  }
  return out;
}

async function scalingRun(
  ctx: Context,
  system: ProjectSystem,
  opts: { sessions: number; ratePerSec: number; nodes: number },
): Promise<ScalingRun> {
  const say = (text: string) => ctx.progress.line(`scaling, ${opts.nodes} node(s): ${text}`);
  await system.start();
  const tokens = Array.from({ length: opts.sessions }, (_, i) => `s-${i}`);
  const outcome = await ctx.swarm.connect('scale', tokens, {
    urls: system.urls,
    mode: system.clientMode,
    concurrency: CONNECT_CONCURRENCY,
  });
  await pollUntil(() => system.started('s-') >= outcome.ok, {
    timeoutMs: 60_000,
    intervalMs: 10,
    message: `${outcome.ok} sessions to be registered`,
  });
  const spec = { ...closedSpec(ctx, opts.sessions), mode: 'open' as const, ratePerSec: opts.ratePerSec };
  // Fresh node processes: JIT and connection pools warm up in an unmeasured run first.
  await system.runLoad({ ...spec, durationMs: Math.max(600, 2 * spec.warmupMs) });
  await system.settle();
  await sleep(settleMs(ctx));
  const edge = async (): Promise<Edge> => ({
    at: performance.now(),
    cpuUs: totalCpuUs(system.pids),
    counters: await system.nodeCounters(),
  });
  // From idle to idle: everything the nodes do for the run's messages, and what they do besides meanwhile
  // (timers, sweeps, notifications), which is the part that could grow with the node count.
  const before = await edge();
  const result = await system.runLoad(spec);
  await system.settle();
  const after = await edge();
  await ctx.swarm.disconnect('scale');
  await system.stop();
  await flushAll(ctx.redis);
  const n = result.sent - result.undelivered;
  const cpu =
    before.cpuUs !== null && after.cpuUs !== null && n > 0 ? (after.cpuUs - before.cpuUs) / n : null;
  const run: ScalingRun = {
    nodes: opts.nodes,
    deliveredPerSec: result.deliveredPerSec,
    delivered: n,
    seconds: (after.at - before.at) / 1000,
    nodeCpuUsPerMsg: cpu,
    keyspacePerNodePerSec: perNodePerSec(before, after, 'keyspace'),
    pubsubPerNodePerSec: perNodePerSec(before, after, 'pubsub'),
  };
  const mean = (v: number[] | null) => (v ? fmt(v.reduce((a, b) => a + b, 0) / v.length) : '–');
  say(
    `${fmt(result.deliveredPerSec)}/s delivered of ${fmt(opts.ratePerSec)}/s offered, node CPU ` +
      `${cpu?.toFixed(1) ?? '–'} µs/msg, per node per s: keyspace events ${mean(run.keyspacePerNodePerSec)}, ` +
      `pub/sub messages ${mean(run.pubsubPerNodePerSec)}`,
  );
  return run;
}

/**
 * The scaling series: io-session with 1, 2 and 4 node processes (`--scale-nodes`) at the same offered load
 * (open loop) and session count; node CPU per message and, per node, keyspace notifications and pub/sub
 * messages received (the nodes' `/metrics` counters), which should not grow with the node count.
 */
export async function measureScaling(
  ctx: Context,
  make: (nodes: number) => ProjectSystem,
  input: { plan: LatencyPlan; clientKind: ClientKind },
): Promise<ScalingResult> {
  const sessions = ctx.options.scaleSessions;
  ctx.progress.line(
    `scaling: ${ctx.options.scaleNodes.join(', ')} io-session node(s), ${fmt(sessions)} sessions, ` +
      `${fmt(input.plan.ratePerSec)}/s offered (${input.plan.source})`,
  );
  await flushAll(ctx.redis);
  const runs: ScalingRun[] = [];
  for (const nodes of ctx.options.scaleNodes) {
    runs.push(await scalingRun(ctx, make(nodes), { sessions, ratePerSec: input.plan.ratePerSec, nodes }));
  }
  return {
    sessions,
    ratePerSec: input.plan.ratePerSec,
    rateSource: input.plan.source,
    durationS: ctx.options.durationS,
    clientKind: input.clientKind,
    runs,
  };
}
