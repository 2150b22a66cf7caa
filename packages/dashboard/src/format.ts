/** `12 s ago`, `3 min ago`. */
export function ago(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 1) return 'now';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ago`;
}

/** `3 h 12 min`. */
export function duration(ms: number): string {
  const s = Math.floor(Math.max(0, ms) / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function clock(at: number): string {
  return new Date(at).toLocaleTimeString([], { hour12: false });
}

export function count(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '–';
  return n >= 10_000 ? n.toLocaleString('en-US') : String(Math.round(n * 10) / 10);
}

/** JSON of a value, cut to `max` characters. */
export function json(value: unknown, max = 120): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? 'undefined';
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
