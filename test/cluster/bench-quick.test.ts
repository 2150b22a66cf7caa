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

describe('io-session bench --quick (smoke)', () => {
  it('measures all four systems and writes every figure to JSON and HTML', async () => {
    const { output, out, result } = await runQuickBench([]);
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
    expect(figures['redis-bytes']?.values.project).toBeGreaterThan(0);
    for (const system of ['project', 'bare', 'seed'] as const) {
      expect(typeof figures.rss?.values[system], `rss of ${system}`).toBe('number');
    }
    expect(figures['throughput@20']?.values.bullmq).toBeGreaterThan(0);
    expect(result.targets).toHaveLength(8);
    for (const target of result.targets) expect(target.pass, target.id).not.toBeNull();
    expect(output).toMatch(/targets \(issue 4\)/);
    expect(readFileSync(join(out, 'latest.html'), 'utf8')).toContain('<svg');
  }, 110_000);

  it('--redis-cluster: io-session and raw BullMQ on a local Redis Cluster, Redis figures summed over its primaries', async () => {
    const { output, result } = await runQuickBench(['--redis-cluster', '--only', 'bullmq,project']);
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
    expect(output).toMatch(/summed over the 3 primaries/);
  }, 110_000);
});
