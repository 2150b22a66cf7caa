import type { ChaosResult } from './run.js';

const MAX_LISTED = 30;

/** The run's figures and violations as text; a failure ends with the command that replays it. */
export function renderReport(result: ChaosResult): string {
  const lines = [`chaos seed ${result.seed}: ${result.violations.length === 0 ? 'PASS' : 'FAIL'}`];
  const table = (title: string, figures: Record<string, number>): void => {
    lines.push(`${title}:`);
    for (const [k, n] of Object.entries(figures).sort()) lines.push(`  ${k.padEnd(34)} ${n}`);
  };
  table('faults injected', result.faults);
  table('proxies', result.proxies);
  table('counted', result.figures);
  if (result.violations.length > 0) {
    const byRule = new Map<string, number>();
    for (const v of result.violations) byRule.set(v.rule, (byRule.get(v.rule) ?? 0) + 1);
    table('violations', Object.fromEntries(byRule));
    for (const v of result.violations.slice(0, MAX_LISTED)) lines.push(`  ${v.rule}: ${v.detail}`);
    if (result.violations.length > MAX_LISTED)
      lines.push(`  … and ${result.violations.length - MAX_LISTED} more`);
    lines.push(`history: ${result.historyFile}`);
    lines.push(`replay: ${result.replay}`);
  }
  return lines.join('\n');
}
