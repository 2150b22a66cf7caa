import { formatNumber, formatRatio } from './format.js';
import { clientKindLabels, type BenchResult, type SystemResult } from './results.js';
import { ratio } from './stats.js';
import { formatCount, level, sessionLevels, throughputAt } from './summary.js';
import { keyspacePerMsg } from './targets.js';

/** A small table under the main one: a header row, data rows, and lines after it. */
export interface Section {
  header: string[];
  rows: string[][];
  footer: string[];
}

const mean = (values: number[] | null): number | null =>
  values && values.length > 0 ? values.reduce((a, b) => a + b, 0) / values.length : null;

/** io-session by client kind, one row each: throughput (and ×bare) at each session count, costs at the first. */
export function kindSection(result: BenchResult): Section | null {
  const primary = result.systems.project;
  const kinds: SystemResult[] = [...(primary ? [primary] : []), ...(result.projectKinds ?? [])];
  const probe = result.protocolProbe;
  if (kinds.length === 0 && !probe) return null;
  const { levels, first } = sessionLevels(result.options);
  const bare = result.systems.bare;
  const header = [
    'io-session by client kind',
    ...levels.flatMap((n) => [`pushes/s @ ${formatCount(n)}`, '×bare']),
    'p99 ms',
    'connects/s',
    'round trips/msg',
    `Redis CPU µs/msg`,
    `node CPU µs/msg`,
  ];
  const rows = kinds.map((k) => {
    const cost = level(k, first);
    return [
      k.clientKind ? clientKindLabels[k.clientKind] : k.label,
      ...levels.flatMap((n) => [
        formatNumber(throughputAt(k, n)),
        formatRatio(ratio(throughputAt(k, n), throughputAt(bare, n))),
      ]),
      formatNumber(k.latency?.p99Ms.median),
      formatNumber(k.connectsPerSec?.median),
      formatNumber(k.roundTrips?.perMsg),
      formatNumber(cost?.redis?.cpuUsPerMsg.median),
      formatNumber(cost?.cpuUsPerMsg.nodes.median),
    ];
  });
  const footer = probe && !probe.supported ? [`${clientKindLabels.v3}: not measured: ${probe.detail}.`] : [];
  return { header, rows, footer };
}

/** The scaling series: one row per node count at the same offered load. */
export function scalingSection(result: BenchResult): Section | null {
  const scaling = result.scaling;
  if (!scaling) return null;
  const header = [
    `scaling @ ${formatCount(scaling.sessions)} sessions, ${formatCount(scaling.ratePerSec)}/s offered`,
    'delivered/s',
    'node CPU µs/msg',
    'keyspace events/s per node',
    'keyspace events/msg all nodes',
    'pub/sub msgs/s per node',
  ];
  const rows = scaling.runs.map((r) => [
    `${r.nodes} io-session node${r.nodes === 1 ? '' : 's'}`,
    formatNumber(r.deliveredPerSec),
    formatNumber(r.nodeCpuUsPerMsg),
    formatNumber(mean(r.keyspacePerNodePerSec)),
    formatNumber(keyspacePerMsg(r)),
    formatNumber(mean(r.pubsubPerNodePerSec)),
  ]);
  return { header, rows, footer: [] };
}

/** --redis-cluster: each primary's share of the summed Redis CPU, at the first session count. */
export function primarySection(result: BenchResult): Section | null {
  const { first } = sessionLevels(result.options);
  const measured = (['project', 'bullmq'] as const).flatMap((name) => {
    const s = result.systems[name];
    const l = s ? (name === 'bullmq' ? s.levels[0] : level(s, first)) : undefined;
    const shares = l?.redis?.cpuShareByPrimary;
    return s && shares && shares.length > 1 ? [{ label: s.label, shares }] : [];
  });
  const ports = measured[0]?.shares.map((p) => `primary :${p.port}`);
  if (!ports) return null;
  return {
    header: ['Redis CPU share by primary', ...ports],
    rows: measured.map((m) => [m.label, ...m.shares.map((p) => `${(p.share * 100).toFixed(0)}%`)]),
    footer: [],
  };
}

/** Every section present, in print order. */
export function sections(result: BenchResult): Section[] {
  return [kindSection(result), scalingSection(result), primarySection(result)].filter(
    (s): s is Section => s !== null,
  );
}
