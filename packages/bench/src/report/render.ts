import {
  systemLabels,
  type BenchResult,
  type Figure,
  type SystemName,
  type TargetResult,
} from './results.js';

const order: SystemName[] = ['project', 'bare', 'seed', 'bullmq'];
const ratioColumns = [
  ['bare', '×bare'],
  ['seed', '×seed'],
  ['bullmq', '×BullMQ'],
] as const;

/** A number for people: thousands separators from 100 up, 3 significant digits below. */
export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value).toLocaleString('en-US');
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  if (abs === 0) return '0';
  return value.toPrecision(2);
}

export function formatRatio(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '–' : `${value.toFixed(2)}×`;
}

function verdict(t: TargetResult): string {
  return t.pass === null ? 'n/a ' : t.pass ? 'PASS' : 'MISS';
}

function formatTargetValue(t: TargetResult): string {
  const v = t.unit === '×' ? formatRatio(t.value) : `${formatNumber(t.value)} ${t.unit}`;
  const l = t.unit === '×' ? formatRatio(t.limit) : `${formatNumber(t.limit)} ${t.unit}`;
  return `${v} (limit ${l})`;
}

function present(result: BenchResult): SystemName[] {
  return order.filter((name) => result.systems[name]);
}

function pad(cells: string[], widths: number[]): string {
  return cells
    .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
    .join('  ')
    .trimEnd();
}

/** The plain-text table printed at the end of a run: figures, ratios, then every target with PASS/MISS. */
export function renderTable(result: BenchResult): string {
  const systems = present(result);
  const ratios = ratioColumns.filter(([b]) => systems.includes(b) && systems.includes('project'));
  const header = ['figure', ...systems.map((s) => systemLabels[s]), ...ratios.map(([, label]) => label)];
  const rows = result.figures.map((f: Figure) => [
    `${f.label} (${f.unit})`,
    ...systems.map((s) => formatNumber(f.values[s])),
    ...ratios.map(([b]) => formatRatio(f.ratios[b])),
  ]);
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => (r[i] ?? '').length)));
  const lines = [
    `io-session bench · ${result.startedAt} · ${result.machine.cpus} cores ${result.machine.cpuModel} · ` +
      `node ${result.machine.node} · redis ${result.machine.redis}`,
    `medians of ${result.options.runs} run(s), ${result.options.durationS} s each; ratios are io-session ÷ baseline` +
      (result.machine.foreignCpuShare === null
        ? ''
        : `; other processes used ${Math.round(result.machine.foreignCpuShare * 100)}% of the CPU meanwhile`),
    '',
    pad(header, widths),
    pad(
      widths.map((w) => '-'.repeat(w)),
      widths,
    ),
    ...rows.map((r) => pad(r, widths)),
    '',
    'targets (issue 4)',
    ...result.targets.map((t) => `  ${verdict(t)}  ${t.label.padEnd(58)} ${formatTargetValue(t)}`),
  ];
  if (result.notes.length > 0) lines.push('', ...result.notes.map((n) => `note: ${n}`));
  return `${lines.join('\n')}\n`;
}

export function renderJson(result: BenchResult): string {
  return `${JSON.stringify(result, null, 2)}\n`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

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

/** A self-contained HTML page (inline SVG and CSS, nothing fetched) with the charts, the table and the targets. */
export function renderHtml(result: BenchResult): string {
  const systems = present(result);
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
  const ratios = ratioColumns.filter(([b]) => systems.includes(b) && systems.includes('project'));
  const head = ['figure', ...systems.map((s) => systemLabels[s]), ...ratios.map(([, l]) => l)]
    .map((h) => `<th>${escapeHtml(h)}</th>`)
    .join('');
  const body = result.figures
    .map(
      (f) =>
        `<tr><td>${escapeHtml(`${f.label} (${f.unit})`)}</td>${systems
          .map((s) => `<td>${formatNumber(f.values[s])}</td>`)
          .join('')}${ratios.map(([b]) => `<td>${formatRatio(f.ratios[b])}</td>`).join('')}</tr>`,
    )
    .join('\n');
  const targets = result.targets
    .map(
      (t) =>
        `<tr class="${t.pass === null ? 'na' : t.pass ? 'pass' : 'miss'}"><td>${verdict(t).trim()}</td><td>${escapeHtml(t.label)}</td><td>${escapeHtml(formatTargetValue(t))}</td></tr>`,
    )
    .join('\n');
  const setups = systems
    .map(
      (s) => `<li><b>${escapeHtml(systemLabels[s])}</b>: ${escapeHtml(result.systems[s]?.setup ?? '')}</li>`,
    )
    .join('\n');
  const notes = result.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>io-session bench ${escapeHtml(result.startedAt)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#111;max-width:980px}
table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #ddd;padding:4px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}.pass td:first-child{color:#15803d;font-weight:600}
.miss td:first-child{color:#b91c1c;font-weight:600}.na td:first-child{color:#6b7280}.key{margin-right:14px}
table.targets td:nth-child(2){text-align:left}
</style></head><body>
<h1>io-session bench</h1>
<p>${escapeHtml(result.startedAt)} · ${result.machine.cpus} cores ${escapeHtml(result.machine.cpuModel)} · node ${escapeHtml(result.machine.node)} · redis ${escapeHtml(result.machine.redis)} · medians of ${result.options.runs} run(s) of ${result.options.durationS} s${
    result.machine.foreignCpuShare === null
      ? ''
      : ` · other processes used ${Math.round(result.machine.foreignCpuShare * 100)}% of the CPU meanwhile`
  }</p>
<p>${legend(systems)}</p>
${barChart('Delivered pushes per second', 'msg/s', throughputGroups)}
${barChart('Latency at 50% of bare Socket.IO’s maximum rate', 'ms', latencyGroups, true)}
<h2>Figures</h2>
<table><thead><tr>${head}</tr></thead><tbody>
${body}
</tbody></table>
<h2>Targets</h2>
<table class="targets"><tbody>
${targets}
</tbody></table>
<h2>Setup</h2><ul>
${setups}
</ul>
<h2>Notes</h2><ul>
${notes}
</ul>
</body></html>
`;
}
