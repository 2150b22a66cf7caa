import { hostname } from 'node:os';
import { ConfigError, envInt, envRedisUrl, envSeeds, parseEnv } from '@io-session/worker';
import { z } from 'zod';

const int = envInt;
const redisUrl = envRedisUrl;
const seeds = envSeeds;

/** Every environment variable io-session reads, with its default. CONTRACT.md §2 plus the tuning knobs. */
export const configSchema = z
  .object({
    REDIS_URL: redisUrl.default('redis://127.0.0.1:6379'),
    REDIS_CLUSTER: seeds.optional(),
    PORT: int(0, 65535).default(3000),
    NODE_ID: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 letters, digits, _ . or -')
      .default(
        `${hostname()
          .replace(/[^A-Za-z0-9_.-]/g, '-')
          .slice(0, 40)}-${process.pid}`,
      ),
    SESSION_TIMEOUT_MS: int(0).default(5000),
    MESSAGE_TTL_MS: int(1).default(3_600_000),
    MESSAGE_STATUS_RETENTION_MS: int(1000).default(600_000),
    KEY_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,32}$/, 'must be 1-32 letters, digits, _ . or -')
      .default('ios'),
    API_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
    AUTH: z.enum(['none', 'jwt'], { message: "must be 'none' or 'jwt'" }).default('none'),
    AUTH_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    /** Longest life of a JWT in seconds; unset: every JWT needs `exp`. */
    JWT_MAX_AGE_S: int(1, 366 * 24 * 3600).optional(),
    /** Connection limits of one node; 0: none. */
    MAX_CONNECTIONS: int(0).default(0),
    MAX_CONNECTIONS_PER_IP: int(0).default(0),
    MAX_CONNECTIONS_PER_TOKEN: int(0).default(0),
    TRUST_PROXY: z
      .enum(['true', 'false', '1', '0'], { message: "must be 'true' or 'false'" })
      .transform((v) => v === 'true' || v === '1')
      .default(false),
    MAX_PAYLOAD_BYTES: int(64, 16 * 1024 * 1024).default(65_536),
    DRAIN_MS: int(0).default(10_000),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    HEARTBEAT_MS: int(50).default(2000),
    HEARTBEAT_TTL_MS: int(200).default(10_000),
    SWEEP_INTERVAL_MS: int(50).default(1000),
    KEYSPACE_NOTIFICATIONS: z.enum(['auto', 'off'], { message: "must be 'auto' or 'off'" }).default('auto'),
    BUCKETS: int(1, 1024).optional(),
    QUEUE_SHARDS: int(1, 64).optional(),
    RATE_LIMIT_PER_SEC: int(1).default(50),
    REDIS_WAIT_REPLICAS: int(0, 16).default(0),
    REDIS_WAIT_TIMEOUT_MS: int(1, 60_000).default(100),
    QUEUE_KEEP_COMPLETED: int(0, 1_000_000).default(0),
    MAX_OUTBOX_ENTRIES: int(100, 10_000_000).default(50_000),
  })
  .superRefine((c, ctx) => {
    if (c.AUTH === 'jwt' && !c.AUTH_SECRET)
      ctx.addIssue({ code: 'custom', path: ['AUTH_SECRET'], message: 'is required when AUTH=jwt' });
    if (c.HEARTBEAT_TTL_MS < 3 * c.HEARTBEAT_MS)
      ctx.addIssue({
        code: 'custom',
        path: ['HEARTBEAT_TTL_MS'],
        message: 'must be at least 3 × HEARTBEAT_MS (a node beats several times per TTL)',
      });
  });

export type Config = z.infer<typeof configSchema>;

export { ConfigError };

/** Reads and validates the environment; throws a ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return parseEnv(configSchema, env);
}

/** For commands: prints one line naming the variable and exits 2 on bad configuration. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`io-session: invalid configuration: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
