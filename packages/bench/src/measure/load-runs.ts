import { MonitorSampler, type MonitorCounts } from '../harness/monitor.js';
import type { LoadSpec } from '../load/pacer.js';
import type { RoundTrips } from '../report/results.js';
import { CostRecorder, type CpuGroups } from './cost-recorder.js';
import { DRAIN_MS, fmt, round, type Context, type Loadable } from './context.js';

/** Closed-loop runs: the maximum delivered rate, with Redis cost per message when Redis is involved. */
export async function throughputRuns(
  ctx: Context,
  target: Loadable,
  spec: LoadSpec,
  opts: { label: string; usesRedis: boolean; warnings: string[]; groups: CpuGroups },
): Promise<{ throughput: number[]; cost: CostRecorder }> {
  const cost = new CostRecorder(opts.usesRedis ? ctx.redis : null, opts.groups);
  const throughput: number[] = [];
  for (let r = 1; r <= ctx.options.runs; r++) {
    const result = await target.runLoad(spec, {
      onWindow: cost.onWindow,
      onSecond: (i) => ctx.progress.line(`${opts.label}:   ${fmt(i.perSec)}/s delivered`),
    });
    throughput.push(result.deliveredPerSec);
    cost.add(result);
    if (result.undelivered > 0) {
      opts.warnings.push(
        `${fmt(result.undelivered)} pushes of throughput run ${r} not delivered within ${DRAIN_MS} ms`,
      );
    }
    ctx.progress.line(
      `${opts.label}: throughput run ${r}/${ctx.options.runs}: ${fmt(result.deliveredPerSec)}/s ` +
        `(${fmt(result.deliveredInWindow)} in ${(result.windowMs / 1000).toFixed(1)} s)`,
    );
  }
  return { throughput, cost };
}

/**
 * A separate closed-loop run under MONITOR: top-level commands (an EVALSHA is one) per delivered message.
 * MONITOR runs from before the first push until every push has been delivered and the system has settled,
 * so the count covers whole messages (push, delivery, receipt) and the idle polling around them.
 */
export async function roundTripRun(
  ctx: Context,
  target: Loadable & { settle?: () => Promise<void> },
  spec: LoadSpec,
  label: string,
): Promise<RoundTrips> {
  // MONITOR is per server: one sampler on each primary (every primary of a Redis Cluster), counts summed.
  const primaries = ctx.redis.primaries;
  const clientList = (admin: (typeof primaries)[number]['admin']) =>
    admin.call('CLIENT', 'LIST') as Promise<string>;
  const samplers = await Promise.all(
    primaries.map(async (p) => MonitorSampler.start(p.port, await clientList(p.admin))),
  );
  const result = await target.runLoad({ ...spec, warmupMs: 0, durationMs: Math.min(2000, spec.durationMs) });
  await target.settle?.();
  const all = await Promise.all(
    primaries.map(async (p, i) => {
      const sampler = samplers[i]!;
      sampler.learnClients(await clientList(p.admin));
      return sampler.stop((text) => p.admin.echo(text));
    }),
  );
  const counts = sumCounts(all);
  const n = result.sent - result.undelivered;
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
    perMsg: n > 0 ? counts.topLevel / n : null,
    scriptCallsPerMsg: n > 0 ? counts.scriptCalls / n : null,
    byCommand: sortedPer(counts.byCommand),
    byClient: sortedPer(counts.byClient),
  };
  ctx.progress.line(
    `${label}: round trips under MONITOR: ${trips.perMsg?.toFixed(2) ?? '–'} top-level commands per message ` +
      `(${fmt(n)} messages; ${trips.scriptCallsPerMsg?.toFixed(1) ?? '–'} script-internal calls per message)`,
  );
  return trips;
}

function sumCounts(all: MonitorCounts[]): MonitorCounts {
  const sum: MonitorCounts = { topLevel: 0, scriptCalls: 0, byCommand: {}, byClient: {} };
  const add = (into: Record<string, number>, from: Record<string, number>) => {
    for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  };
  for (const c of all) {
    sum.topLevel += c.topLevel;
    sum.scriptCalls += c.scriptCalls;
    add(sum.byCommand, c.byCommand);
    add(sum.byClient, c.byClient);
  }
  return sum;
}
