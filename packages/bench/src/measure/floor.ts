import { takeSnapshot } from '../harness/redis-info.js';
import { systemLabels, type SystemResult } from '../report/results.js';
import { measured } from '../report/stats.js';
import { closedSpec, fmt, type Context, type Loadable } from './context.js';
import { roundTripRun, throughputRuns } from './load-runs.js';

/** Baseline (0): raw BullMQ, measured like the others but without sessions. */
export async function measureFloor(
  ctx: Context,
  floor: Loadable & { setup: string; pids: number[]; start(): Promise<void>; stop(): Promise<void> },
): Promise<SystemResult> {
  const label = systemLabels.bullmq;
  ctx.progress.line(`${label}: starting two worker processes`);
  await floor.start();
  const warnings: string[] = [];
  const spec = closedSpec(ctx, 1);
  const warm = await floor.runLoad({ ...spec, durationMs: Math.max(600, 2 * spec.warmupMs) });
  ctx.progress.line(`${label}: warm-up run: ${fmt(warm.deliveredPerSec)}/s (not counted)`);
  const memRuns = (await takeSnapshot(ctx.redis)).usedMemory;
  const { throughput, cost } = await throughputRuns(ctx, floor, spec, {
    label,
    usesRedis: true,
    warnings,
    groups: { nodes: floor.pids, clients: [] },
  });
  const retained = ((await takeSnapshot(ctx.redis)).usedMemory - memRuns) / Math.max(1, cost.delivered);
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
        redis: cost.redisCost(),
        cpuUsPerMsg: cost.processCpu(),
        redisBytesPerSession: null,
        redisBytesRetainedPerMsg: retained,
        rssBytesPerConnection: null,
        rampConnectsPerSec: null,
      },
    ],
    latency: null,
    roundTrips,
    warnings,
  };
}
