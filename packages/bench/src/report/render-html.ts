import { escapeHtml, formatNumber, formatRatio, formatTargetValue, verdict } from './format.js';
import { systemLabels, type BenchResult, type SystemName } from './results.js';
import { columnLabel, present, ratiosOf, targetHeading } from './columns.js';
import { sections, type Section } from './sections.js';

const colors: Record<SystemName, string> = {
  project: '#2563eb',
  bare: '#f59e0b',
  seed: '#10b981',
  bullmq: '#9ca3af',
};

interface BarGroup {
  label: string;
  bars: { system: SystemName; value: number | null }[];
}

/**
 * A grouped bar chart as inline SVG: one group per x label, one bar per system, value labels on top. With
 * `log`, bar heights follow log10 (for latencies that span milliseconds to seconds).
 */
export function barChart(title: string, unit: string, groups: BarGroup[], log = false): string {
  const width = 720;
  const height = 300;
  const left = 60;
  const bottom = 40;
  const top = 36;
  const plotH = height - top - bottom;
  const max = Math.max(1e-9, ...groups.flatMap((g) => g.bars.map((b) => b.value ?? 0)));
  const floor = 0.1;
  const logMax = Math.log10(Math.max(max, floor * 10) / floor);
  const heightOf = (v: number) =>
    log ? (plotH * Math.log10(Math.max(v, floor) / floor)) / logMax : (plotH * v) / max;
  const tickValue = (i: number) => (log ? floor * 10 ** ((logMax * i) / 4) : (max * i) / 4);
  const groupW = (width - left - 10) / Math.max(1, groups.length);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img">`,
    `<title>${escapeHtml(title)}</title>`,
    `<text x="${left}" y="20" font-size="15" font-weight="600">${escapeHtml(title)} (${escapeHtml(unit)}${log ? ', log scale' : ''})</text>`,
    `<line x1="${left}" y1="${top + plotH}" x2="${width - 10}" y2="${top + plotH}" stroke="#333"/>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const y = top + plotH - (plotH * i) / 4;
    parts.push(
      `<line x1="${left}" y1="${y}" x2="${width - 10}" y2="${y}" stroke="#e5e7eb"/>`,
      `<text x="${left - 6}" y="${y + 4}" font-size="11" text-anchor="end">${formatNumber(tickValue(i))}</text>`,
    );
  }
  groups.forEach((g, gi) => {
    const x0 = left + gi * groupW;
    const barW = (groupW * 0.8) / Math.max(1, g.bars.length);
    g.bars.forEach((b, bi) => {
      const v = b.value ?? 0;
      const h = heightOf(v);
      const x = x0 + groupW * 0.1 + bi * barW;
      const y = top + plotH - h;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${colors[b.system]}"><title>${escapeHtml(systemLabels[b.system])}: ${formatNumber(b.value)} ${escapeHtml(unit)}</title></rect>`,
        `<text x="${(x + barW / 2).toFixed(1)}" y="${(y - 4).toFixed(1)}" font-size="10" text-anchor="middle">${formatNumber(b.value)}</text>`,
      );
    });
    parts.push(
      `<text x="${(x0 + groupW / 2).toFixed(1)}" y="${top + plotH + 18}" font-size="12" text-anchor="middle">${escapeHtml(g.label)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

function legend(systems: SystemName[]): string {
  return systems
    .map(
      (s) =>
        `<span class="key"><svg width="12" height="12"><rect width="12" height="12" fill="${colors[s]}"/></svg> ${escapeHtml(systemLabels[s])}</span>`,
    )
    .join(' ');
}

function charts(result: BenchResult, systems: SystemName[]): string {
  const throughputGroups: BarGroup[] = result.figures
    .filter((f) => f.key.startsWith('throughput@'))
    .map((f) => ({
      label: f.label.replace('pushes/s ', ''),
      bars: systems.map((s) => ({ system: s, value: f.values[s] ?? null })),
    }));
  const latencyGroups: BarGroup[] = result.figures
    .filter((f) => f.key === 'latency-p50' || f.key === 'latency-p99')
    .map((f) => ({
      label: f.key === 'latency-p50' ? 'p50' : 'p99',
      bars: systems.filter((s) => s !== 'bullmq').map((s) => ({ system: s, value: f.values[s] ?? null })),
    }));
  return [
    barChart('Delivered pushes per second', 'msg/s', throughputGroups),
    barChart('Latency at 50% of bare Socket.IO’s maximum rate', 'ms', latencyGroups, true),
  ].join('\n');
}

const cells = (tag: 'td' | 'th', row: string[]) =>
  row.map((c) => `<${tag}>${escapeHtml(c)}</${tag}>`).join('');

function figureTable(result: BenchResult, systems: SystemName[]): string {
  const ratios = ratiosOf(result);
  const head = cells('th', [
    'figure',
    ...systems.map((s) => columnLabel(result, s)),
    ...ratios.map(([, l]) => l),
  ]);
  const body = result.figures
    .map(
      (f) =>
        `<tr>${cells('td', [
          `${f.label} (${f.unit})`,
          ...systems.map((s) => formatNumber(f.values[s])),
          ...ratios.map(([b]) => formatRatio(f.ratios[b])),
        ])}</tr>`,
    )
    .join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function sectionTable(section: Section): string {
  const rows = section.rows.map((r) => `<tr>${cells('td', r)}</tr>`).join('\n');
  const footer = section.footer.map((f) => `<p>${escapeHtml(f)}</p>`).join('\n');
  return `<table><thead><tr>${cells('th', section.header)}</tr></thead><tbody>\n${rows}\n</tbody></table>\n${footer}`;
}

function targetTables(result: BenchResult): string {
  return ([12, 4] as const)
    .map((issue) => {
      const rows = result.targets
        .filter((t) => t.issue === issue)
        .map(
          (t) =>
            `<tr class="${t.pass === null ? 'na' : t.pass ? 'pass' : 'miss'}"><td>${verdict(t).trim()}</td><td>${escapeHtml(t.label)}</td><td>${escapeHtml(formatTargetValue(t))}</td></tr>`,
        )
        .join('\n');
      if (!rows) return '';
      return `<h2>${escapeHtml(targetHeading(result, issue))}</h2>\n<table class="targets"><tbody>\n${rows}\n</tbody></table>`;
    })
    .join('\n');
}

function items(list: string[]): string {
  return list.map((n) => `<li>${n}</li>`).join('\n');
}

const STYLE = `body{font:14px system-ui,sans-serif;margin:24px;color:#111;max-width:980px}
table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #ddd;padding:4px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}.pass td:first-child{color:#15803d;font-weight:600}
.miss td:first-child{color:#b91c1c;font-weight:600}.na td:first-child{color:#6b7280}.key{margin-right:14px}
table.targets td:nth-child(2){text-align:left}`;

/** A self-contained HTML page (inline SVG and CSS, nothing fetched) with the charts, the tables and the targets. */
export function renderHtml(result: BenchResult): string {
  const systems = present(result);
  const m = result.machine;
  const setups = systems.map(
    (s) => `<b>${escapeHtml(columnLabel(result, s))}</b>: ${escapeHtml(result.systems[s]?.setup ?? '')}`,
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>io-session bench ${escapeHtml(result.startedAt)}</title>
<style>
${STYLE}
</style></head><body>
<h1>io-session bench</h1>
<p>${escapeHtml(result.startedAt)} · ${m.cpus} cores ${escapeHtml(m.cpuModel)} · node ${escapeHtml(m.node)} · redis ${escapeHtml(m.redis)} · medians of ${result.options.runs} run(s) of ${result.options.durationS} s${
    m.foreignCpuShare === null
      ? ''
      : ` · other processes used ${Math.round(m.foreignCpuShare * 100)}% of the CPU meanwhile`
  }</p>
<p>${legend(systems)}</p>
${charts(result, systems)}
<h2>Figures</h2>
${figureTable(result, systems)}
${sections(result).map(sectionTable).join('\n')}
${targetTables(result)}
<h2>Setup</h2><ul>
${items(setups)}
</ul>
<h2>Notes</h2><ul>
${items(result.notes.map(escapeHtml))}
</ul>
</body></html>
`;
}
