import { clientKindLabels, systemLabels, type BenchResult, type SystemName } from './results.js';

/** Columns of the main table, in order, and the ratio columns (io-session ÷ baseline). */
export const order: SystemName[] = ['project', 'bare', 'seed', 'bullmq'];
export const ratioColumns = [
  ['bare', '×bare'],
  ['seed', '×seed'],
  ['bullmq', '×BullMQ'],
] as const;

export function present(result: BenchResult): SystemName[] {
  return order.filter((name) => result.systems[name]);
}

/** A column's heading: io-session's says which client kind it is. */
export function columnLabel(result: BenchResult, name: SystemName): string {
  const kind = name === 'project' ? result.systems.project?.clientKind : undefined;
  return kind ? `${systemLabels.project} ${kind}` : systemLabels[name];
}

export function ratiosOf(result: BenchResult) {
  const systems = present(result);
  return ratioColumns.filter(([b]) => systems.includes(b) && systems.includes('project'));
}

/** What the targets of an issue are evaluated on. */
export function targetHeading(result: BenchResult, issue: 12 | 4): string {
  if (issue === 4) return 'earlier targets (issue 4), for comparison';
  const kind = result.systems.project?.clientKind;
  const probe = result.protocolProbe;
  const on = kind ? `io-session with ${clientKindLabels[kind]} clients` : 'io-session';
  const why = probe && !probe.supported && kind !== 'v3' ? ' (v3 not measured: see the note)' : '';
  return `targets (issue 12), on ${on}${why}`;
}
