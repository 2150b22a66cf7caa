import { sleep } from '@io-session/devtools';
import { growthPer, memoryByPattern } from '../harness/memory-breakdown.js';
import { takeSnapshot } from '../harness/redis-info.js';
import type { ReceiptConsumer, SteadyResult } from '../report/results.js';
import { labelOf, type SessionSystem } from '../systems/system.js';
import { closedSpec, fmt, settleMs, type Context } from './context.js';

/**
 * Redis bytes held per delivered message in steady state: a longer closed-loop run, queues drained before and
 * after; `used_memory` growth ÷ messages delivered in the run (what the system keeps per message: statuses,
 * the receipt consumer's dedupe state, queue leftovers), with the growth by key pattern.
 */
export async function steadyRun(
  ctx: Context,
  system: SessionSystem & { receipts?: ReceiptConsumer },
  sessions: number,
  durationS: number,
): Promise<SteadyResult> {
  const label = labelOf(system);
  await system.settle();
  await sleep(settleMs(ctx));
  const keys0 = await memoryByPattern(ctx.redis);
  const mem0 = (await takeSnapshot(ctx.redis)).usedMemory;
  const result = await system.runLoad({ ...closedSpec(ctx, sessions), durationMs: durationS * 1000 });
  await system.settle();
  await sleep(settleMs(ctx));
  const mem1 = (await takeSnapshot(ctx.redis)).usedMemory;
  const delivered = result.sent - result.undelivered;
  const byKey = growthPer(keys0, await memoryByPattern(ctx.redis), delivered);
  const bytesPerMsg = delivered > 0 ? (mem1 - mem0) / delivered : null;
  ctx.progress.line(
    `${label}: steady run of ${durationS} s: ${fmt(delivered)} messages, Redis used_memory ` +
      `${mem1 >= mem0 ? '+' : ''}${fmt(mem1 - mem0)} B = ${bytesPerMsg?.toFixed(0) ?? '–'} B held per message`,
  );
  return {
    sessions,
    durationS,
    delivered,
    bytesPerMsg,
    consumer: system.receipts ?? 'worker',
    byKey,
  };
}
