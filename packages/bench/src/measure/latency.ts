import type { LatencyResult } from '../report/results.js';
import { systemLabels } from '../report/results.js';
import { measured, percentile } from '../report/stats.js';
import type { SessionSystem } from '../systems/system.js';
import { closedSpec, DRAIN_MS, fmt, type Context, type LatencyPlan } from './context.js';

interface LatencyRuns {
  p50: number[];
  p99: number[];
  achieved: number[];
  samples: number;
}

async function latencyRuns(
  ctx: Context,
  system: SessionSystem,
  sessions: number,
  opts: { ratePerSec: number; runs: number; drainMs: number },
): Promise<LatencyRuns> {
  const label = systemLabels[system.name];
  const out: LatencyRuns = { p50: [], p99: [], achieved: [], samples: 0 };
  for (let r = 1; r <= opts.runs; r++) {
    const id = ++ctx.phase;
    ctx.swarm.startPhase(id);
    const result = await system.runLoad({
      ...closedSpec(ctx, sessions),
      mode: 'open',
      ratePerSec: opts.ratePerSec,
      drainMs: opts.drainMs,
      phase: id,
    });
    const { samples } = await ctx.swarm.collect(id);
    samples.sort();
    out.samples += samples.length;
    const a = percentile(samples, 50);
    const b = percentile(samples, 99);
    if (a !== null && b !== null) {
      out.p50.push(a);
      out.p99.push(b);
    }
    out.achieved.push(result.sentPerSec);
    ctx.progress.line(
      `${label}: latency run ${r}/${opts.runs} at ${fmt(opts.ratePerSec)}/s: p50 ${a?.toFixed(2)} ms, ` +
        `p99 ${b?.toFixed(2)} ms (${fmt(samples.length)} samples, sent ${fmt(result.sentPerSec)}/s` +
        `${result.undelivered > 0 ? `, ${fmt(result.undelivered)} still undelivered after the drain` : ''})`,
    );
    await system.settle();
  }
  return out;
}

/**
 * Latency at the plan's rate. A system whose own maximum is below that rate cannot keep up: its latency there
 * is the growth of a queue, so it is measured once (a MISS in any case), and its latency at 50% of its own
 * maximum is measured as well, to tell the delay of its pipeline from the queueing.
 */
export async function measureLatency(
  ctx: Context,
  system: SessionSystem,
  at: { sessions: number; plan: LatencyPlan; ownMax: number | null },
): Promise<LatencyResult> {
  const { sessions, plan, ownMax } = at;
  const saturated = ownMax !== null && ownMax < plan.ratePerSec;
  const main = await latencyRuns(ctx, system, sessions, {
    ratePerSec: plan.ratePerSec,
    runs: saturated ? 1 : ctx.options.runs,
    drainMs: saturated ? 10_000 : DRAIN_MS,
  });
  let ownHalf: LatencyResult['ownHalf'] = null;
  if (saturated && ownMax !== null) {
    ctx.progress.line(
      `${systemLabels[system.name]}: its maximum (${fmt(ownMax)}/s) is below ${fmt(plan.ratePerSec)}/s: ` +
        'also measuring latency at 50% of its own maximum',
    );
    const rate = Math.max(1, Math.round(ownMax / 2));
    const half = await latencyRuns(ctx, system, sessions, {
      ratePerSec: rate,
      runs: ctx.options.runs,
      drainMs: DRAIN_MS,
    });
    ownHalf = { ratePerSec: rate, p50Ms: measured(half.p50), p99Ms: measured(half.p99) };
  }
  return {
    ratePerSec: plan.ratePerSec,
    rateSource: plan.source,
    sessions,
    p50Ms: measured(main.p50),
    p99Ms: measured(main.p99),
    samples: main.samples,
    achievedPerSec: measured(main.achieved),
    saturated,
    ownHalf,
  };
}
