import { z } from 'zod';

/**
 * Environment parsing shared by the `io-session node` and `io-session worker` commands: the same field
 * types, and the same one-line message naming the first bad variable.
 */
export const envInt = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce
    .number({ message: 'must be a number' })
    .int('must be a whole number')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);

export const envRedisUrl = z
  .string()
  .refine((v) => /^rediss?:\/\//.test(v), 'must be a redis:// or rediss:// URL')
  .refine((v) => URL.canParse(v), 'is not a valid URL');

/** `host:port,host:port` seeds of a Redis Cluster. */
export const envSeeds = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  )
  .refine((list) => list.length > 0, 'must list at least one host:port')
  .refine((list) => list.every((s) => /^[^\s:]+:\d{1,5}$/.test(s)), 'must be a comma list of host:port');

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

/** Variables whose value is a secret: a configuration error names them and never shows their value. */
const SECRET_NAME = /(SECRET|PASSWORD|(^|_)KEY|CREDENTIALS?)$/i;

/**
 * How a bad value is shown in a configuration error: secrets not at all; a value with credentials (`user:pass@`,
 * in a URL or not, parsable or not) with everything up to its last `@` as `***`; anything else as JSON.
 */
export function shownValue(variable: string, value: string): string {
  if (value === '') return '(not set)';
  if (SECRET_NAME.test(variable)) return '(value not shown: it is a secret)';
  return `(got ${JSON.stringify(value.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)?[^]*@/, '$1***@'))})`;
}

/** Validates the set (non-empty) variables of `env`; throws a ConfigError naming the first bad one. */
export function parseEnv<T>(schema: z.ZodType<T>, env: NodeJS.ProcessEnv): T {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const variable = String(issue?.path[0] ?? 'environment');
  throw new ConfigError(
    variable,
    `${issue?.message ?? 'is invalid'} ${shownValue(variable, env[variable] ?? '')}`,
  );
}
