import {
  clientGroup,
  computeFigures,
  computeTargets,
  counterValue,
  deltaOf,
  formatNumber,
  growthPer,
  keyPattern,
  measured,
  median,
  parseBenchArgs,
  parseInfo,
  parseMonitorLine,
  percentile,
  ratio,
  renderHtml,
  renderJson,
  renderTable,
  snapshotOf,
  type BenchResult,
  type LevelResult,
  type SystemName,
  type SystemResult,
} from '@io-session/bench';
import { describe, expect, it } from 'vitest';

describe('median, percentile, ratio', () => {
  it('takes the middle value, or the mean of the two middle ones, ignoring non-finite values', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([5])).toBe(5);
    expect(median([])).toBeNull();
    expect(median([NaN, Infinity, 7])).toBe(7);
    expect(measured([9, 1, 5])).toEqual({ median: 5, runs: [9, 1, 5] });
  });

  it('uses the nearest rank for percentiles', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([4], 99)).toBe(4);
    expect(percentile([], 50)).toBeNull();
    expect(percentile(new Float64Array([1, 2, 3, 4]), 50)).toBe(2);
  });

  it('divides by the baseline, null when either side is missing or the baseline is zero', () => {
    expect(ratio(12, 10)).toBeCloseTo(1.2);
    expect(ratio(null, 10)).toBeNull();
    expect(ratio(5, undefined)).toBeNull();
    expect(ratio(5, 0)).toBeNull();
  });
});

function level(sessions: number, throughput: number, extra: Partial<LevelResult> = {}): LevelResult {
  return {
    sessions,
    throughput: measured([throughput]),
    redis: {
      commandsPerMsg: measured([20]),
      processedPerMsg: measured([21]),
      readsPerMsg: measured([0.5]),
      cpuUsPerMsg: measured([30]),
    },
    cpuUsPerMsg: { nodes: measured([50]), clients: measured([40]), bench: measured([10]) },
    redisBytesPerSession: null,
    rssBytesPerConnection: null,
    rampConnectsPerSec: 1000,
    ...extra,
  };
}

function system(name: SystemName, parts: Partial<SystemResult>): SystemResult {
  return {
    name,
    label: name,
    setup: `${name} setup`,
    connectsPerSec: measured([1000]),
    levels: [],
    latency: null,
    roundTrips: null,
    warnings: [],
    ...parts,
  };
}

const latency = (p50: number, p99: number) => ({
  ratePerSec: 5000,
  rateSource: 'test',
  sessions: 1000,
  p50Ms: measured([p50]),
  p99Ms: measured([p99]),
  samples: 100,
  achievedPerSec: measured([5000]),
  saturated: false,
  ownHalf: null,
});

function sampleResult(): BenchResult {
  const systems: BenchResult['systems'] = {
    bullmq: system('bullmq', { connectsPerSec: null, levels: [level(0, 11_000)] }),
    bare: system('bare', {
      levels: [level(1000, 10_000), level(10_000, 9_500, { rssBytesPerConnection: 10_000 })],
      latency: latency(2, 12),
      connectsPerSec: measured([1000]),
    }),
    seed: system('seed', {
      levels: [
        { ...level(1000, 25_000), redis: null },
        { ...level(10_000, 5_000), redis: null },
      ],
      latency: latency(1, 5),
    }),
    project: system('project', {
      clientKind: 'v3',
      levels: [
        level(1000, 12_000, {
          cpuUsPerMsg: {
            nodes: measured([50]),
            clients: measured([40]),
            bench: measured([10]),
            worker: measured([15]),
          },
        }),
        level(10_000, 11_000, { redisBytesPerSession: 800, rssBytesPerConnection: 11_000 }),
      ],
      steady: { sessions: 1000, durationS: 20, delivered: 100_000, bytesPerMsg: 240, consumer: 'worker' },
      latency: latency(4, 20),
      connectsPerSec: measured([700]),
      roundTrips: {
        sessions: 1000,
        messages: 1000,
        perMsg: 6,
        scriptCallsPerMsg: 40,
        byCommand: { evalsha: 5, publish: 1 },
        byClient: { 'node:commands': 6 },
      },
    }),
  };
  const options = { sessions: [1000, 10_000] };
  const measuredParts = {
    systems,
    projectKinds: [
      system('project', {
        clientKind: 'v2',
        label: 'io-session (v2)',
        levels: [level(1000, 6_000), level(10_000, 5_000)],
      }),
      system('project', {
        clientKind: 'legacy',
        label: 'io-session (legacy)',
        levels: [level(1000, 5_000), level(10_000, 4_000)],
      }),
    ],
    protocolProbe: { supported: true, event: 'push_batch', ack: true, detail: 'speaks v3' },
    scaling: {
      sessions: 1000,
      ratePerSec: 6000,
      rateSource: 'test',
      durationS: 5,
      clientKind: 'v3' as const,
      runs: [1, 2, 4].map((nodes) => ({
        nodes,
        deliveredPerSec: 6000,
        delivered: 30_000,
        seconds: 6,
        nodeCpuUsPerMsg: 50 + nodes,
        keyspacePerNodePerSec: Array.from({ length: nodes }, () => 100),
        pubsubPerNodePerSec: Array.from({ length: nodes }, () => 6000 / nodes),
      })),
    },
    clusterReference: null,
  };
  return {
    version: 2,
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:05:00.000Z',
    elapsedS: 300,
    machine: {
      cpus: 2,
      cpuModel: 'Test CPU',
      memoryGiB: 24,
      node: 'v20.0.0',
      redis: '7.0.15',
      platform: 'linux',
      loadAvgStart: 0.1,
      foreignCpuShare: 0.02,
    },
    options: {
      ...options,
      runs: 3,
      durationS: 5,
      warmupS: 1,
      connectClients: 1000,
      batch: 200,
      window: 10_000,
      swarm: 2,
      only: ['bullmq', 'bare', 'seed', 'project'],
      projectClients: ['v3', 'v2', 'legacy'],
      quick: false,
    },
    notes: ['a note <with> markup'],
    ...measuredParts,
    figures: computeFigures(systems, options),
    targets: computeTargets(measuredParts, options),
  };
}

describe('figures and targets', () => {
  it('computes every figure with the project ratio to each baseline', () => {
    const { figures } = sampleResult();
    const byKey = Object.fromEntries(figures.map((f) => [f.key, f]));
    expect(Object.keys(byKey)).toEqual([
      'throughput@1000',
      'throughput@10000',
      'latency-p50',
      'latency-p99',
      'latency-own-p99',
      'connects',
      'round-trips',
      'redis-commands',
      'redis-reads',
      'redis-cpu',
      'node-cpu',
      'worker-cpu',
      'redis-bytes',
      'redis-retained',
      'redis-held',
      'rss',
    ]);
    expect(byKey['throughput@1000']!.values).toEqual({
      bullmq: 11_000,
      bare: 10_000,
      seed: 25_000,
      project: 12_000,
    });
    expect(byKey['throughput@1000']!.ratios.bare).toBeCloseTo(1.2);
    expect(byKey['throughput@10000']!.ratios.seed).toBeCloseTo(2.2);
    expect(byKey['throughput@10000']!.values.bullmq).toBe(11_000);
    expect(byKey['latency-p99']!.ratios.bare).toBeCloseTo(20 / 12);
    expect(byKey['rss']!.ratios.bare).toBeCloseTo(1.1);
    expect(byKey['redis-cpu']!.values.seed).toBeNull();
    expect(byKey['worker-cpu']!.values.project).toBe(15);
    expect(byKey['redis-held']!.values.project).toBe(240);
    expect(byKey['redis-held']!.label).toMatch(/20 s steady, with io-session worker/);
    expect(computeFigures(sampleResult().systems, { sessions: [1000], redisCluster: true }).at(-5)?.key).toBe(
      'redis-busiest-primary',
    );
  });

  it('evaluates the targets of issue 12 on the first client kind, then the earlier ones of issue 4', () => {
    const result = sampleResult();
    expect(result.targets.filter((t) => t.issue === 12).map((t) => t.id)).toEqual([
      'throughput@1000',
      'throughput@10000',
      'redis-cpu',
      'node-cpu',
      'latency-p99',
      'connects',
      'redis-bytes',
      'redis-held',
      'flat-node-cpu',
      'flat-keyspace',
    ]);
    const targets = Object.fromEntries(result.targets.map((t) => [t.id, t]));
    expect(targets['throughput@1000']).toMatchObject({
      pass: true,
      limit: 1,
      detail: 'v2 0.60×, legacy 0.50×',
    });
    expect(targets['throughput@10000']!.value).toBeCloseTo(11 / 9.5);
    expect(targets['redis-cpu']).toMatchObject({ value: 30, limit: 10, pass: false });
    expect(targets['node-cpu']).toMatchObject({ value: 50, limit: 60, pass: true });
    expect(targets['latency-p99']).toMatchObject({ value: 20, limit: 22, pass: true });
    expect(targets['connects']).toMatchObject({ value: 0.7, pass: false });
    expect(targets['redis-bytes']).toMatchObject({ value: 800, pass: false });
    expect(targets['redis-held']).toMatchObject({ value: 240, limit: 250, pass: true });
    expect(targets['flat-node-cpu']!.value).toBeCloseTo(54 / 51);
    expect(targets['flat-node-cpu']!.pass).toBe(true);
    // Every node receives every notification: all nodes together get 4× as many per message at 4 nodes.
    expect(targets['flat-keyspace']).toMatchObject({ value: 4, pass: false });
    expect(targets['throughput-vs-seed']).toMatchObject({ issue: 4, pass: true, limit: 2 });
    expect(targets['no-degradation']!.value).toBeCloseTo(11 / 12);
    expect(targets['round-trips']).toMatchObject({ issue: 4, value: 6, pass: true });
    expect(targets['rss']!.pass).toBe(true);
    expect(targets['cluster-primary-share']).toBeUndefined();

    // No notifications at all, at 1 node and at 4: flat.
    const quiet = sampleResult();
    for (const run of quiet.scaling!.runs)
      run.keyspacePerNodePerSec = run.keyspacePerNodePerSec!.map(() => 0);
    const flat = computeTargets(quiet, { sessions: [1000, 10_000] }).find((x) => x.id === 'flat-keyspace')!;
    expect(flat).toMatchObject({ value: 1, pass: true });

    const saturated = sampleResult();
    saturated.systems.project!.latency = { ...latency(4, 20), saturated: true };
    const t = computeTargets(saturated, { sessions: [1000, 10_000] });
    expect(t.find((x) => x.id === 'latency-p99')!.pass).toBe(false);

    const { project } = sampleResult().systems;
    const alone = computeTargets({ systems: { project } }, { sessions: [1000] });
    expect(alone.find((t) => t.id === 'throughput@1000')!.pass).toBeNull();
    expect(alone.find((t) => t.id === 'no-degradation')!.pass).toBeNull();
    expect(alone.find((t) => t.id === 'flat-keyspace')!.pass).toBeNull();
  });

  it('with --redis-cluster: the busiest primary and the Redis CPU ratio to a single Redis', () => {
    const result = sampleResult();
    result.systems.project!.levels[0]!.redis!.cpuShareByPrimary = [
      { port: 7000, share: 0.5 },
      { port: 7001, share: 0.3 },
      { port: 7002, share: 0.2 },
    ];
    const cluster = {
      ...result,
      clusterReference: { sessions: 1000, clientKind: 'v3' as const, throughput: 1, redisCpuUsPerMsg: 25 },
    };
    const targets = Object.fromEntries(
      computeTargets(cluster, { sessions: [1000, 10_000], redisCluster: true }).map((t) => [t.id, t]),
    );
    expect(targets['cluster-primary-share']).toMatchObject({ value: 50, limit: 50, pass: true });
    expect(targets['cluster-redis-cpu']!.value).toBeCloseTo(30 / 25);
    expect(targets['cluster-redis-cpu']!.pass).toBe(true);
    expect(targets['redis-bytes']!.label).toMatch(/Redis Cluster/);
    const table = renderTable({ ...cluster, options: { ...cluster.options, redisCluster: true } });
    expect(table).toMatch(/Redis CPU share by primary\s+primary :7000\s+primary :7001\s+primary :7002/);
    expect(table).toMatch(/^project\s+50%\s+30%\s+20%$/m);
  });
});

describe('rendering', () => {
  it('prints a table with every figure, the ratios and PASS/MISS per target', () => {
    const table = renderTable(sampleResult());
    expect(table).toContain('pushes/s @ 1,000 sessions');
    expect(table).toContain('12,000');
    expect(table).toContain('1.20×');
    expect(table).toMatch(
      /PASS\s+throughput @ 1,000 sessions ≥ 1\.0× bare Socket\.IO\s+1\.20× \(limit 1\.00×; v2 0\.60×, legacy 0\.50×\)/,
    );
    expect(table).toMatch(/MISS\s+connects\/s ≥ 0\.8× bare Socket\.IO/);
    expect(table).toMatch(/targets \(issue 12\), on io-session with v3 \(SDK, push_batch frames\) clients/);
    expect(table).toMatch(/earlier targets \(issue 4\)/);
    expect(table).toMatch(/io-session by client kind/);
    expect(table).toMatch(/v3 \(SDK, push_batch frames\)\s+12,000\s+1\.20×\s+11,000\s+1\.16×/);
    expect(table).toMatch(/legacy \(seed's receipts\)\s+5,000\s+0\.50×/);
    expect(table).toMatch(/4 io-session nodes\s+6,000\s+54\.0\s+100\s+0\.080\s+1,500/);
    expect(table).toContain('io-session v3');
    expect(table).toContain('2% of the CPU');
    expect(formatNumber(1234.5)).toBe('1,235');
    expect(formatNumber(3.14159)).toBe('3.14');
    expect(formatNumber(null)).toBe('–');
  });

  it('writes JSON that reads back the same', () => {
    const result = sampleResult();
    expect(JSON.parse(renderJson(result))).toEqual(result);
  });

  it('says when the v3 row could not be measured', () => {
    const result = sampleResult();
    result.protocolProbe = {
      supported: false,
      event: 'push_message',
      ack: false,
      detail: 'the node answers <legacy>',
    };
    result.systems.project = { ...result.projectKinds![0]! };
    result.projectKinds = result.projectKinds!.slice(1);
    const table = renderTable(result);
    expect(table).toMatch(
      /targets \(issue 12\), on io-session with v2 \(ack callback\) clients \(v3 not measured/,
    );
    expect(table).toContain('v3 (SDK, push_batch frames): not measured: the node answers <legacy>.');
    expect(renderHtml(result)).toContain('the node answers &#60;legacy&#62;');
  });

  it('writes a self-contained HTML page with inline SVG charts and escaped text', () => {
    const html = renderHtml(sampleResult());
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html.match(/<svg xmlns/g)?.length).toBe(2);
    expect(html).not.toMatch(/<script|<link|(src|href)=["']?https?:/i);
    expect(html).toContain('a note &#60;with&#62; markup');
    expect(html).toContain('class="miss"');
  });
});

describe('Redis INFO and MONITOR parsing', () => {
  const info = (calls: number, cpu: number) =>
    [
      '# Commandstats',
      `cmdstat_evalsha:calls=${calls},usec=10,usec_per_call=1.00,rejected_calls=0,failed_calls=0`,
      `cmdstat_hget:calls=${calls * 3},usec=10,usec_per_call=1.00,rejected_calls=0,failed_calls=0`,
      'cmdstat_info:calls=7,usec=10,usec_per_call=1.00,rejected_calls=0,failed_calls=0',
      '# Stats',
      `total_commands_processed:${calls * 4 + 7}`,
      `total_reads_processed:${calls}`,
      '# CPU',
      `used_cpu_sys:${cpu}`,
      `used_cpu_user:${cpu}`,
      '# Memory',
      'used_memory:1000',
    ].join('\r\n');

  it('sums commandstats without the bench’s own INFO calls and takes deltas', () => {
    const a = snapshotOf(parseInfo(info(10, 1)));
    const b = snapshotOf(parseInfo(info(30, 1.5)));
    expect(a.commands).toBe(40);
    const d = deltaOf(a, b);
    expect(d.commands).toBe(80);
    expect(d.byCommand).toEqual({ evalsha: 20, hget: 60 });
    expect(d.cpuS).toBeCloseTo(1);
    expect(d.reads).toBe(20);
  });

  it('tells client commands from script calls in MONITOR lines', () => {
    expect(parseMonitorLine('+1700000000.123456 [0 127.0.0.1:5555] "EVALSHA" "abc" "1" "k"')).toEqual({
      source: '127.0.0.1:5555',
      command: 'evalsha',
    });
    expect(parseMonitorLine('1700000000.1 [0 lua] "HGET" "k" "f"')).toEqual({
      source: 'lua',
      command: 'hget',
    });
    expect(parseMonitorLine('+OK')).toBeNull();
    expect(clientGroup('ios-bench-node-2-pub')).toBe('node:pub');
    expect(clientGroup('ios-bench-node-1')).toBe('node:commands');
    expect(clientGroup(`{bench}:${Buffer.from('receipts').toString('base64')}`)).toBe('bullmq:receipts');
    expect(clientGroup('bench-producer')).toBe('bench-producer');
  });
});

describe('node /metrics counters', () => {
  it('sums a counter over its labels, null when a node does not export it', () => {
    const text = [
      '# HELP ios_pubsub_received_total Sharded pub/sub messages',
      '# TYPE ios_pubsub_received_total counter',
      'ios_pubsub_received_total 42',
      'ios_pubsub_received_total_extra 7',
      'ios_keyspace_events_total{event="expired"} 3',
      'ios_keyspace_events_total{event="del"} 4',
    ].join('\n');
    expect(counterValue(text, 'ios_pubsub_received_total')).toBe(42);
    expect(counterValue(text, 'ios_keyspace_events_total')).toBe(7);
    expect(counterValue(text, 'ios_nothing_total')).toBeNull();
  });
});

describe('Redis memory by key pattern', () => {
  it('folds what varies per session, message, node and job into one pattern', () => {
    expect(keyPattern('bench:{bench.12}:s:s-5')).toBe('bench:{bench.#}:s:<token>');
    expect(keyPattern('bench:{bench.3}:m:3.abc')).toBe('bench:{bench.#}:m:<message>');
    expect(keyPattern('bench:{bench.n.node-1~ab12}:tokens')).toBe('bench:{bench.n.<node>}:tokens');
    expect(keyPattern('{bench}:session-events:session.started-Xy1')).toBe('{bench}:session-events:<job>');
    expect(keyPattern('{bench}:receipts:42:logs')).toBe('{bench}:receipts:<job>:logs');
    expect(keyPattern('{bench}:session-events:completed')).toBe('{bench}:session-events:completed');
  });

  it('gives the growth per session of each pattern', () => {
    const before = [{ pattern: 'a', keys: 1, bytes: 100 }];
    const after = [
      { pattern: 'a', keys: 11, bytes: 2100 },
      { pattern: 'b', keys: 1, bytes: 5000 },
    ];
    expect(growthPer(before, after, 10)).toEqual({ b: 500, a: 200 });
  });
});

describe('options', () => {
  it('has the documented defaults and a quick mode', () => {
    const o = parseBenchArgs([]);
    expect(o).toMatchObject({ sessions: [1000, 10_000], runs: 3, durationS: 5, batch: 200 });
    expect(o.only).toEqual(['bullmq', 'bare', 'seed', 'project']);
    expect(o).toMatchObject({
      projectClients: ['v3', 'v2', 'legacy'],
      kindDetails: 'all',
      receipts: 'worker',
      steadyS: 20,
      scaleNodes: [1, 2, 4],
      scaleSessions: 1000,
    });
    const q = parseBenchArgs(['--quick', '--only', 'project,bare']);
    expect(q).toMatchObject({ quick: true, runs: 1, sessions: [200, 1000], only: ['bare', 'project'] });
    expect(q).toMatchObject({ kindDetails: 'first', steadyS: 2, scaleSessions: 200 });
    const p = parseBenchArgs(['--project-clients', 'v2,v3', '--receipts', 'bullmq', '--scale-nodes', 'none']);
    expect(p).toMatchObject({ projectClients: ['v2', 'v3'], receipts: 'bullmq', scaleNodes: [] });
  });

  it('names the option that is wrong', () => {
    expect(() => parseBenchArgs(['--runs', '0'])).toThrow(/--runs/);
    expect(() => parseBenchArgs(['--sessions', '10,abc'])).toThrow(/--sessions/);
    expect(() => parseBenchArgs(['--only', 'redis'])).toThrow(/--only/);
    expect(() => parseBenchArgs(['--project-clients', 'v4'])).toThrow(/--project-clients/);
    expect(() => parseBenchArgs(['--receipts', 'nobody'])).toThrow(/--receipts/);
    expect(() => parseBenchArgs(['--scale-nodes', '0'])).toThrow(/--scale-nodes/);
    expect(() => parseBenchArgs(['--nope'])).toThrow();
  });
});
