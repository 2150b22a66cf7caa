/** A page cursor of `getSessions`: the bucket to continue in and the last token seen there. Opaque to callers. */
export function encodeCursor(bucket: number, after: string): string {
  return Buffer.from(JSON.stringify([bucket, after])).toString('base64url');
}

/** @throws RangeError('invalid cursor') for anything `encodeCursor` did not make for this bucket count. */
export function decodeCursor(cursor: string | null | undefined, buckets: number): [number, string] {
  if (!cursor) return [0, ''];
  try {
    const [bucket, after] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as [unknown, unknown];
    if (
      Number.isInteger(bucket) &&
      (bucket as number) >= 0 &&
      (bucket as number) < buckets &&
      typeof after === 'string'
    )
      return [bucket as number, after];
  } catch {
    // fall through
  }
  throw new RangeError('invalid cursor');
}
