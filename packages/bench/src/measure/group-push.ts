import { pollUntil, sleep } from '@io-session/devtools';
import type { GroupPushResult } from '../report/results.js';
import { labelOf, type GroupDriver, type SessionSystem } from '../systems/system.js';
import { CONNECT_CONCURRENCY, fmt, type Context } from './context.js';

const GROUP = 'bench-group';

/**
 * Messages per second delivered to the members of one group (CONTRACT.md §10): `members` clients connect and
 * join the group, then `{ group, data, id }` push jobs go in, closed-loop (at most `window` member messages
 * unreceipted), for the run's duration. A message counts when its receipt reached the bench, as in every
 * throughput row; each member's message is its own (stored, acknowledged, receipted).
 */
export async function groupPushRun(
  ctx: Context,
  system: SessionSystem,
  run: { groups: GroupDriver; members: number },
): Promise<GroupPushResult> {
  const { groups, members } = run;
  const say = (text: string) => ctx.progress.line(`${labelOf(system)}: ${text}`);
  const tokens = Array.from({ length: members }, (_, i) => `gm-${i}`);
  const outcome = await ctx.swarm.connect('gm', tokens, {
    urls: system.urls,
    mode: system.clientMode,
    concurrency: CONNECT_CONCURRENCY,
  });
  if (system.started) {
    const started = system.started.bind(system);
    await pollUntil(() => started('gm-') >= outcome.ok, {
      timeoutMs: 60_000,
      intervalMs: 10,
      message: 'members',
    });
  }
  await groups.join(GROUP, tokens.slice(0, outcome.ok));
  const inFlight = Math.max(1, Math.floor(ctx.options.window / Math.max(1, outcome.ok)));
  const base = groups.receipts();
  let sent = 0;
  const pushed = (): number => (groups.receipts() - base) / Math.max(1, outcome.ok);
  const runUntil = async (until: number): Promise<void> => {
    while (performance.now() < until) {
      while (sent - pushed() < inFlight) await groups.push(GROUP, `g${sent++}`, { n: sent });
      await sleep(1);
    }
  };
  await runUntil(performance.now() + ctx.options.warmupS * 1000);
  const r0 = groups.receipts();
  const t0 = performance.now();
  await runUntil(t0 + ctx.options.durationS * 1000);
  const messagesPerSec = ((groups.receipts() - r0) * 1000) / (performance.now() - t0);
  await pollUntil(() => groups.receipts() - base >= sent * outcome.ok, {
    timeoutMs: 30_000,
    intervalMs: 20,
    message: 'every group push receipted',
  }).catch(() => undefined);
  const missing = sent * outcome.ok - (groups.receipts() - base);
  say(
    `group push to ${fmt(outcome.ok)} members: ${fmt(messagesPerSec)} messages/s delivered ` +
      `(${fmt(sent)} group pushes, ${inFlight} in flight${missing > 0 ? `, ${fmt(missing)} not receipted` : ''})`,
  );
  await ctx.swarm.disconnect('gm');
  if (system.ended) {
    const ended = system.ended.bind(system);
    await pollUntil(() => ended('gm-') >= outcome.ok, {
      timeoutMs: 60_000,
      intervalMs: 20,
      message: 'members end',
    });
  }
  return { members: outcome.ok, pushes: sent, durationS: ctx.options.durationS, messagesPerSec, missing };
}
