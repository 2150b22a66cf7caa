/**
 * The operator's kit (k8s/monitoring) asks only for what a node serves: every metric name, label name and label
 * value that the Grafana dashboard and the Prometheus rules use must be in a live node's /metrics. A real
 * `io-session node` process is started, clients connect, pushes are stored, refused and acknowledged and a session
 * ends by its grace, so that the counters, histograms and their labels have samples; then /metrics is scraped and
 * every PromQL expression is parsed with the Prometheus project's grammar (@prometheus-io/lezer-promql).
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { api, connectClient } from '../helpers/clients.js';
import { REPO_ROOT, startNode, TEST_API_KEY, type NodeProcess } from '../helpers/node-process.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { parseExposition, promqlUses, type Exposition, type PromqlUses } from '../helpers/prometheus.js';
import { dropPrefixAfterwards, SHARED_REDIS_URL } from '../helpers/redis-client.js';
import { waitUntil } from '../helpers/wait.js';

/** Labels Prometheus adds to every sample of a target (and the ServiceMonitor's Kubernetes ones). */
const TARGET_LABELS = new Set(['job', 'instance', 'namespace', 'service', 'pod', 'container', 'endpoint']);
/** Series Prometheus makes itself for every target. */
const SYNTHETIC = new Set(['up']);

interface Expr {
  where: string;
  expr: string;
  /** Labels a legend (`{{op}}`) or an annotation (`{{ $labels.op }}`) reads from the result. */
  reads: string[];
}

function dashboardExprs(): Expr[] {
  const dashboard = JSON.parse(readFileSync(`${REPO_ROOT}k8s/monitoring/grafana-dashboard.json`, 'utf8')) as {
    panels: { title: string; targets?: { expr: string; legendFormat?: string }[] }[];
    templating: { list: { name: string; definition?: string }[] };
  };
  const exprs = dashboard.panels.flatMap((p) =>
    (p.targets ?? []).map((t) => ({
      where: `dashboard panel "${p.title}"`,
      expr: t.expr,
      reads: [...(t.legendFormat ?? '').matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]!),
    })),
  );
  // Query variables: label_values(<metric>, <label>).
  for (const v of dashboard.templating.list) {
    const m = /^label_values\((.+),\s*(\w+)\)$/.exec(v.definition ?? '');
    if (m) exprs.push({ where: `dashboard variable $${v.name}`, expr: m[1]!, reads: [m[2]!] });
  }
  return exprs;
}

function ruleExprs(): Expr[] {
  const docs = parseAllDocuments(readFileSync(`${REPO_ROOT}k8s/monitoring/prometheus-rules.yaml`, 'utf8'));
  const rule = docs[0]!.toJS() as {
    spec: { groups: { rules: { alert: string; expr: string; annotations?: Record<string, string> }[] }[] };
  };
  return rule.spec.groups.flatMap((g) =>
    g.rules.map((r) => ({
      where: `alert ${r.alert}`,
      expr: r.expr,
      reads: Object.values(r.annotations ?? {}).flatMap((a) =>
        [...a.matchAll(/\$labels\.(\w+)/g)].map((m) => m[1]!),
      ),
    })),
  );
}

/** The labels and values of a metric as the scrape has them; histogram series count as their histogram. */
function seriesOf(metrics: Exposition, name: string): Map<string, Set<string>> | undefined {
  const own = metrics.samples.get(name);
  if (own) return own;
  const base = /^(.*)_(bucket|sum|count)$/.exec(name)?.[1];
  const type = metrics.types.get(name) ?? (base ? metrics.types.get(base) : undefined);
  return type === undefined ? undefined : new Map(); // a family with no sample yet: no label to check against
}

/** Every problem of one expression against the scrape (empty when the node serves all it uses). */
function problems(metrics: Exposition, e: Expr): string[] {
  const uses: PromqlUses = promqlUses(e.expr);
  const out = uses.errors.map((err) => `${e.where}: PromQL syntax error at ${err}`);
  if (uses.selectors.length === 0) out.push(`${e.where}: selects no metric`);
  const labelsOf = (metric: string): Set<string> => new Set(seriesOf(metrics, metric)?.keys() ?? []);
  for (const { metric, matchers } of uses.selectors) {
    if (SYNTHETIC.has(metric)) continue;
    const series = seriesOf(metrics, metric);
    if (!series) {
      out.push(`${e.where}: ${metric} is not served at /metrics`);
      continue;
    }
    for (const { label, op, value } of matchers) {
      if (TARGET_LABELS.has(label)) continue;
      const seen = series.get(label);
      if (!seen) {
        out.push(`${e.where}: ${metric} has no label ${label}`);
        continue;
      }
      // Values of = and != matchers, and of regexes that are a plain list of words, must be values it has.
      const words =
        op === '=' || op === '!=' ? [value] : /^[\w.:-]+(\|[\w.:-]+)*$/.test(value) ? value.split('|') : [];
      for (const word of words)
        if (!seen.has(word))
          out.push(
            `${e.where}: ${metric}{${label}="${word}"} has no sample (it has ${[...seen].join(', ')})`,
          );
    }
  }
  for (const { label, metrics: under } of uses.groupings) {
    if (TARGET_LABELS.has(label)) continue;
    if (!under.some((m) => labelsOf(m).has(label)))
      out.push(`${e.where}: groups by ${label}, which none of ${under.join(', ')} has`);
  }
  const grouped = new Set(uses.groupings.map((g) => g.label));
  for (const label of e.reads) {
    const available = uses.aggregates
      ? grouped.has(label)
      : TARGET_LABELS.has(label) || uses.selectors.some((s) => labelsOf(s.metric).has(label));
    if (!available) out.push(`${e.where}: reads {{${label}}}, which its result does not carry`);
  }
  return out;
}

let node: NodeProcess;
let metrics: Exposition;

async function scrape(): Promise<Exposition> {
  const res = await fetch(`${node.url}/metrics`);
  expect(res.status).toBe(200);
  return parseExposition(await res.text());
}

const sampleValue = (m: Exposition, name: string, labels = '{}'): number =>
  m.values.get(name)?.get(labels) ?? 0;

beforeAll(async () => {
  const prefix = uniquePrefix('monitoring');
  dropPrefixAfterwards(prefix);
  // One bucket: an id conflict is found within a bucket (the message hash is per bucket), so both tokens share it.
  node = await startNode({
    redisUrl: SHARED_REDIS_URL,
    prefix,
    env: { SESSION_TIMEOUT_MS: '200', BUCKETS: '1' },
  });
  const push = (body: object) =>
    api<{ accepted: boolean }>(node.url, '/v1/push', { method: 'POST', body, apiKey: TEST_API_KEY });

  const socket = await connectClient(node.url, { token: 'watched', v: 2 });
  const acked = new Promise<void>((resolve) =>
    socket.on('push_message', (_m: unknown, ack?: () => void) => {
      ack?.();
      resolve();
    }),
  );
  expect((await push({ token: 'watched', data: 1, id: 'm-1' })).status).toBe(202); // stored
  expect((await push({ token: 'watched', data: 1, id: 'm-1' })).status).toBe(202); // duplicate
  expect((await push({ token: 'nobody', data: 1 })).status).toBe(404); // no_session
  await connectClient(node.url, { token: 'other', v: 2 }); // never acknowledges: m-2 stays pending
  expect((await push({ token: 'other', data: 2, id: 'm-2' })).status).toBe(202);
  expect((await push({ token: 'watched', data: 2, id: 'm-2' })).status).toBe(409); // id_conflict
  await acked;
  socket.disconnect(); // its session ends by grace: the sweeper lag histogram gets a sample

  metrics = await waitUntil(
    async () => {
      const m = await scrape();
      const acks = sampleValue(m, 'ios_ack_latency_seconds_count');
      const ends = sampleValue(m, 'ios_sweeper_lag_seconds_count');
      return acks > 0 && ends > 0 && m;
    },
    { timeout: 15_000, message: 'an ack and a session end in /metrics' },
  );
}, 60_000);

describe('a live node’s /metrics serves everything k8s/monitoring uses', () => {
  it('has samples of the histograms and labelled counters after connect, push, ack and a session end', () => {
    expect(sampleValue(metrics, 'ios_ack_latency_seconds_count')).toBeGreaterThan(0);
    expect(sampleValue(metrics, 'ios_sweeper_lag_seconds_count')).toBeGreaterThan(0);
    expect(
      [...(metrics.samples.get('ios_redis_operation_seconds_bucket')?.get('op') ?? [])].length,
    ).toBeGreaterThan(0);
    expect(metrics.samples.get('ios_pushes_total')?.get('result')).toEqual(
      new Set(['stored', 'duplicate', 'no_session', 'id_conflict']),
    );
    expect(metrics.types.get('ios_process_nodejs_eventloop_lag_p99_seconds')).toBe('gauge');
  });

  it.each([
    ['the Grafana dashboard', dashboardExprs],
    ['the Prometheus rules', ruleExprs],
  ])('%s: every metric, label and label value exists, and every expression parses', (_what, exprs) => {
    const all = exprs();
    expect(all.length).toBeGreaterThanOrEqual(9);
    expect(all.flatMap((e) => problems(metrics, e))).toEqual([]);
  });

  it('the checks can fail: a misspelt metric, label, value or legend is reported', () => {
    const bad: Expr[] = [
      { where: 'a', expr: 'sum(rate(ios_push_total[5m]))', reads: [] },
      { where: 'b', expr: 'ios_pushes_total{reason="no_session"}', reads: [] },
      { where: 'c', expr: 'ios_pushes_total{result="inbox_ful"}', reads: [] },
      { where: 'd', expr: 'sum by (op) (ios_connections)', reads: [] },
      { where: 'e', expr: 'sum by (instance) (ios_connections)', reads: ['op'] },
      { where: 'f', expr: 'sum(rate(ios_pushes_total[$__rate_interval]) ', reads: [] },
    ];
    for (const e of bad) expect(problems(metrics, e), e.expr).not.toEqual([]);
    const good: Expr = {
      where: 'g',
      expr: 'histogram_quantile(0.99, sum by (le, op) (rate(ios_redis_operation_seconds_bucket{job=~"$job"}[$__rate_interval])))',
      reads: ['op'],
    };
    expect(problems(metrics, good)).toEqual([]);
  });
});
