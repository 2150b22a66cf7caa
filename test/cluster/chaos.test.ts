import { chaosDefaults, renderReport, runChaos } from '@io-session/chaos';
import { describe, expect, it } from 'vitest';

/**
 * The seeded chaos run of issue 13 for two minutes (`npm run chaos -- --seed 1 --minutes 2` replays it): real
 * node processes behind fault-injection proxies, a private Redis, clients that churn, ack late or never, pushes
 * by HTTP and by queue job; then the history checker. The seed is one that passes on main: a failing seed is a
 * product bug to file, not a flaky test (docs/operating.md, "Chaos").
 */
const SEED = 1;

describe('chaos', () => {
  it(`a 2-minute chaos run (seed ${SEED}) passes the history checker`, { timeout: 360_000 }, async () => {
    const result = await runChaos({
      seed: SEED,
      minutes: 2,
      nodes: chaosDefaults.nodes,
      sessions: chaosDefaults.sessions,
      pushesPerSecond: chaosDefaults.pushesPerSecond,
      redisOutageMs: chaosDefaults.redisOutageMs,
      historyDir: undefined,
    });
    const report = renderReport(result);
    console.log(report);
    // the run did what it is for: faults of several kinds, replies really dropped, pushes both ways delivered
    expect(Object.keys(result.faults).length, report).toBeGreaterThanOrEqual(4);
    expect(result.figures['pushes delivered'] ?? 0, report).toBeGreaterThan(100);
    expect(result.figures['pushes by queue'] ?? 0, report).toBeGreaterThan(0);
    expect(result.figures['receipts'] ?? 0, report).toBeGreaterThan(0);
    expect(result.violations, report).toEqual([]);
  });
});
