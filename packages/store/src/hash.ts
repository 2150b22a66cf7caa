/** FNV-1a (32 bit) of the UTF-16 code units: stable across processes and versions, cheap on the hot path. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function bucketOf(token: string, buckets: number): number {
  return fnv1a(token) % buckets;
}
