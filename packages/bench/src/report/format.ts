import type { TargetResult } from './results.js';

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

export function verdict(t: TargetResult): string {
  return t.pass === null ? 'n/a ' : t.pass ? 'PASS' : 'MISS';
}

/** `0.43× (limit 1.00×; v2 0.40×, legacy 0.38×)` */
export function formatTargetValue(t: TargetResult): string {
  const v = t.unit === '×' ? formatRatio(t.value) : `${formatNumber(t.value)} ${t.unit}`;
  const l = t.unit === '×' ? formatRatio(t.limit) : `${formatNumber(t.limit)} ${t.unit}`;
  return `${v} (limit ${l}${t.detail ? `; ${t.detail}` : ''})`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
