import { formatNumber, formatRatio, formatTargetValue, verdict } from './format.js';
import { columnLabel, present, ratiosOf, targetHeading } from './columns.js';
import type { BenchResult, Figure, TargetResult } from './results.js';
import { sections, type Section } from './sections.js';

export { formatNumber, formatRatio } from './format.js';
export { barChart, renderHtml } from './render-html.js';

function pad(cells: string[], widths: number[]): string {
  return cells
    .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
    .join('  ')
    .trimEnd();
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => (r[i] ?? '').length)));
  return [
    pad(header, widths),
    pad(
      widths.map((w) => '-'.repeat(w)),
      widths,
    ),
    ...rows.map((r) => pad(r, widths)),
  ];
}

function sectionLines(section: Section): string[] {
  return ['', ...table(section.header, section.rows), ...section.footer];
}

function targetLines(result: BenchResult, issue: 12 | 4): string[] {
  const list = result.targets.filter((t: TargetResult) => t.issue === issue);
  if (list.length === 0) return [];
  return [
    '',
    targetHeading(result, issue),
    ...list.map((t) => `  ${verdict(t)}  ${t.label.padEnd(66)} ${formatTargetValue(t)}`),
  ];
}

/**
 * The plain-text table printed at the end of a run: figures and ratios, io-session by client kind, the
 * scaling series, Redis CPU by primary, then every target with PASS/MISS.
 */
export function renderTable(result: BenchResult): string {
  const systems = present(result);
  const ratios = ratiosOf(result);
  const header = [
    'figure',
    ...systems.map((s) => columnLabel(result, s)),
    ...ratios.map(([, label]) => label),
  ];
  const rows = result.figures.map((f: Figure) => [
    `${f.label} (${f.unit})`,
    ...systems.map((s) => formatNumber(f.values[s])),
    ...ratios.map(([b]) => formatRatio(f.ratios[b])),
  ]);
  const lines = [
    `io-session bench · ${result.startedAt} · ${result.machine.cpus} cores ${result.machine.cpuModel} · ` +
      `node ${result.machine.node} · redis ${result.machine.redis}`,
    `medians of ${result.options.runs} run(s), ${result.options.durationS} s each; ratios are io-session ÷ baseline` +
      (result.machine.foreignCpuShare === null
        ? ''
        : `; other processes used ${Math.round(result.machine.foreignCpuShare * 100)}% of the CPU meanwhile`),
    '',
    ...table(header, rows),
    ...sections(result).flatMap(sectionLines),
    ...targetLines(result, 12),
    ...targetLines(result, 4),
  ];
  if (result.notes.length > 0) lines.push('', ...result.notes.map((n) => `note: ${n}`));
  return `${lines.join('\n')}\n`;
}

export function renderJson(result: BenchResult): string {
  return `${JSON.stringify(result, null, 2)}\n`;
}
