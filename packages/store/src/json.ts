import stringify from 'safe-stable-stringify';

/** JSON with sorted keys: equal data gives equal text, whoever serialised it. */
export function canonicalJson(data: unknown): string {
  return stringify(data ?? null) ?? 'null';
}

/** Parses JSON text a script returned; empty or missing text is null. */
export function parseJson(text: string | undefined): unknown {
  if (text === undefined || text === '') return null;
  return JSON.parse(text) as unknown;
}
