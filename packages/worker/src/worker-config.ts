import { z } from 'zod';
import { envInt, envRedisUrl, envSeeds, parseEnv } from './env.js';
import { MIN_WEBHOOK_SECRET_LENGTH } from './webhook-signature.js';

const httpUrl = z
  .string()
  .refine((v) => URL.canParse(v), 'is not a valid URL')
  .refine((v) => /^https?:\/\//.test(v), 'must be an http:// or https:// URL');

const int = envInt;
const redisUrl = envRedisUrl;
const seeds = envSeeds;

/** Every environment variable `io-session worker` reads, with its default (CONTRACT.md §2 and §6). */
export const workerConfigSchema = z.object({
  REDIS_URL: redisUrl.default('redis://127.0.0.1:6379'),
  REDIS_CLUSTER: seeds.optional(),
  KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,32}$/, 'must be 1-32 letters, digits, _ . or -')
    .default('ios'),
  /** Receipts are POSTed here; unset: logged at debug and acknowledged. */
  RECEIPT_WEBHOOK_URL: httpUrl.optional(),
  /** Session events are POSTed here; unset: logged at debug and acknowledged. */
  EVENTS_WEBHOOK_URL: httpUrl.optional(),
  WEBHOOK_TIMEOUT_MS: int(1).default(10_000),
  /** Signs every webhook POST (CONTRACT.md §11); receivers check it with `verifyWebhook`. Unset: unsigned. */
  WEBHOOK_SECRET: z
    .string()
    .min(MIN_WEBHOOK_SECRET_LENGTH, `must be at least ${MIN_WEBHOOK_SECRET_LENGTH} characters`)
    .optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `receipts` jobs (so webhook POSTs) at once. */
  WORKER_CONCURRENCY: int(1, 1000).default(8),
  /** Lock of a running job; a dead worker's jobs run again after one to two of these. */
  WORKER_LOCK_MS: int(100).default(30_000),
  /** How long a receipt or event handed to a webhook is remembered, so that it is not POSTed again. */
  DEDUPE_TTL_MS: int(1000).default(3600 * 1000),
});

export type WorkerConfig = z.infer<typeof workerConfigSchema>;

/** Reads and validates the environment; throws a ConfigError naming the first bad variable. */
export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  return parseEnv(workerConfigSchema, env);
}
