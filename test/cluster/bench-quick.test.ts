import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from '@io-session/bench';
import { describe, expect, it } from 'vitest';
import { exitOf, OutputBuffer, trackChild } from '../helpers/child.js';
import { deferCleanup } from '../helpers/cleanup.js';

const BENCH_CLI = fileURLToPath(new URL('../../packages/bench/dist/cli.js', import.meta.url));

/** Runs the bench CLI with tiny settings; returns its exit code, output and latest.json. */
async function runQuickBench(
  extra: string[],
): Promise<{ code: number | null; output: string; out: string; result: BenchResult }> {
  const out = mkdtempSync(join(tmpdir(), 'bench-quick-'));
  deferCleanup(() => rmSync(out, { recursive: true, force: true }));
  const args = [
    '--quick',
    '--runs',
    '1',
    '--sessions',
    '20,40',
    '--connect',
    '20',
    '--duration',
    '1',
    '--window',
    '1000',
    ...extra,
  ];
  const child = spawn(
    process.execPath,
    [BENCH_CLI, ...args, '--warmup', '0.3', '--swarm', '1', '--out', out],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  trackChild(child);
  const output = new OutputBuffer();
  child.stdout.on('data', (chunk: Buffer) => output.append(chunk));
  child.stderr.on('data', (chunk: Buffer) => output.append(chunk));
  const code = await exitOf(child);
  expect(code, output.toString()).toBe(0);
  const result = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as BenchResult;
  return { code, output: output.toString(), out, result };
}

/** io-session's client kinds in the order measured: v3 first when the node speaks it (the probe tells). */
function kindsOf(result: BenchResult): (string | undefined)[] {
  return [result.systems.project?.clientKind, ...(result.projectKinds ?? []).map((k) => k.clientKind)];
}

describe('io-session bench --quick (smoke)', () => {
  it('measures all four systems, io-session per client kind, the steady run and the scaling series', async () => {
    // Two client kinds and the scaling series at its two ends: the defaults (v3,v2,legacy and 1,2,4) add runs of
    // the same code, and the legacy clients are the baselines' too.
    const { output, out, result } = await runQuickBench([
      '--project-clients',
      'v3,v2',
      '--scale-nodes',
      '1,4',
      '--group-members',
      'none',
    ]);
    expect(Object.keys(result.systems).sort()).toEqual(['bare', 'bullmq', 'project', 'seed']);
    const figures = Object.fromEntries(result.figures.map((f) => [f.key, f]));
    for (const key of ['throughput@20', 'throughput@40', 'latency-p50', 'latency-p99', 'connects']) {
      for (const system of ['project', 'bare', 'seed'] as const) {
        expect(figures[key]?.values[system], `${key} of ${system}`).toBeGreaterThan(0);
      }
    }
    for (const key of ['round-trips', 'redis-commands', 'redis-reads', 'redis-cpu']) {
      for (const system of ['project', 'bare', 'bullmq'] as const) {
        expect(figures[key]?.values[system], `${key} of ${system}`).toBeGreaterThan(0);
      }
    }
    for (const system of ['project', 'bare', 'seed', 'bullmq'] as const) {
      expect(figures['node-cpu']?.values[system], `node-cpu of ${system}`).toBeGreaterThan(0);
    }
    // At 40 sessions the growth is within the noise of the connection buffers of the nodes, the worker and the
    // bench (±100 KB): a number, not its sign, is what a smoke run can check.
    expect(Number.isFinite(figures['redis-bytes']?.values.project)).toBe(true);
    expect(figures['worker-cpu']?.values.project).toBeGreaterThan(0);
    expect(typeof figures['redis-held']?.values.project).toBe('number');
    expect(result.systems.project?.steady).toMatchObject({ consumer: 'worker', durationS: 2 });
    expect(result.systems.project?.steady?.delivered).toBeGreaterThan(0);
    for (const system of ['project', 'bare', 'seed'] as const) {
      expect(typeof figures.rss?.values[system], `rss of ${system}`).toBe('number');
    }
    expect(figures['throughput@20']?.values.bullmq).toBeGreaterThan(0);

    // One row per client kind; v3 only once the node speaks it, else a note says why it is missing.
    const probe = result.protocolProbe!;
    expect(kindsOf(result)).toEqual(probe.supported ? ['v3', 'v2'] : ['v2']);
    if (!probe.supported) expect(output).toMatch(/does not speak protocol v3/);
    for (const kind of [result.systems.project!, ...result.projectKinds!]) {
      for (const n of [20, 40]) {
        const level = kind.levels.find((l) => l.sessions === n);
        expect(level?.throughput.median, `${kind.label} @ ${n}`).toBeGreaterThan(0);
      }
    }
    expect(output).toMatch(/io-session by client kind/);

    const scaling = result.scaling!;
    expect(scaling.runs.map((r) => r.nodes)).toEqual([1, 4]);
    for (const run of scaling.runs) {
      expect(run.deliveredPerSec, `${run.nodes} nodes`).toBeGreaterThan(0);
      expect(run.nodeCpuUsPerMsg, `${run.nodes} nodes`).toBeGreaterThan(0);
      expect(run.pubsubPerNodePerSec).toHaveLength(run.nodes);
    }
    expect(output).toMatch(/scaling @ 20 sessions/);

    const issue12 = result.targets.filter((t) => t.issue === 12);
    expect(issue12.map((t) => t.id)).toEqual([
      'throughput@20',
      'throughput@40',
      'redis-cpu',
      'node-cpu',
      'latency-p99',
      'connects',
      'redis-bytes',
      'redis-held',
      'flat-node-cpu',
      'flat-keyspace',
    ]);
    const keyspaceExported = scaling.runs[0]!.keyspacePerNodePerSec !== null;
    // n/a is right for these two when the counter is not exported / the growth is the buffers' noise (above).
    const noise = (figures['redis-bytes']?.values.project ?? 0) <= 0;
    for (const target of result.targets) {
      if (target.id === 'flat-keyspace' && !keyspaceExported) expect(target.pass).toBeNull();
      else if (target.id === 'redis-bytes' && noise) expect(target.pass).toBeNull();
      else expect(target.pass, target.id).not.toBeNull();
    }
    expect(result.targets.filter((t) => t.issue === 4)).toHaveLength(4);
    expect(output).toMatch(/targets \(issue 12\)/);
    expect(output).toMatch(/earlier targets \(issue 4\)/);
    expect(readFileSync(join(out, 'latest.html'), 'utf8')).toContain('<svg');
  }, 110_000);

  it('--redis-cluster: io-session and raw BullMQ on a local Redis Cluster, Redis CPU per primary and the cluster targets', async () => {
    const { output, result } = await runQuickBench([
      '--redis-cluster',
      '--only',
      'bullmq,project',
      // the client kinds and the scaling series are the first test's; here the cluster's figures
      '--project-clients',
      'v2',
      '--scale-nodes',
      'none',
      '--group-members',
      'none',
    ]);
    expect(Object.keys(result.systems).sort()).toEqual(['bullmq', 'project']);
    expect(result.machine.redis).toMatch(/Redis Cluster: 3 primaries \+ 3 replicas/);
    expect(result.options.redisCluster).toBe(true);
    const figures = Object.fromEntries(result.figures.map((f) => [f.key, f]));
    for (const key of ['throughput@20', 'round-trips', 'redis-commands', 'redis-reads', 'redis-cpu']) {
      for (const system of ['project', 'bullmq'] as const) {
        expect(figures[key]?.values[system], `${key} of ${system}`).toBeGreaterThan(0);
      }
    }
    expect(figures['redis-bytes']?.values.project).toBeGreaterThan(0);
    for (const system of ['project', 'bullmq'] as const) {
      const busiest = figures['redis-busiest-primary']?.values[system];
      expect(busiest, `busiest primary of ${system}`).toBeGreaterThan(100 / 3 - 0.01);
      expect(busiest, `busiest primary of ${system}`).toBeLessThanOrEqual(100);
    }
    const shares = result.systems.project!.levels[0]!.redis!.cpuShareByPrimary!;
    expect(shares).toHaveLength(3);
    expect(shares.reduce((sum, p) => sum + p.share, 0)).toBeCloseTo(1, 1);
    expect(result.clusterReference?.redisCpuUsPerMsg).toBeGreaterThan(0);
    const targets = Object.fromEntries(result.targets.map((t) => [t.id, t]));
    expect(targets['cluster-primary-share']?.pass).not.toBeNull();
    expect(targets['cluster-redis-cpu']?.pass).not.toBeNull();
    expect(result.scaling).toBeNull();
    expect(output).toMatch(/summed over the 3 primaries/);
    expect(output).toMatch(/Redis CPU share by primary/);
  }, 110_000);

  it('--group-members: messages/s delivered to the members of a group (io-session alone)', async () => {
    const { output, result } = await runQuickBench([
      '--only',
      'project',
      '--project-clients',
      'v2',
      '--scale-nodes',
      'none',
      '--group-members',
      '100',
    ]);
    const figure = result.figures.find((f) => f.key === 'group-push');
    expect(figure?.values.project, 'messages/s to a group').toBeGreaterThan(0);
    expect(result.systems.project?.groupPush).toMatchObject({ members: 100, missing: 0 });
    expect(output).toMatch(/messages\/s delivered to members of a 100-member group/);
  }, 110_000);
});
