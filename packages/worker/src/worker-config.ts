import { z } from 'zod';
import { workerDefaults } from './defaults.js';
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
export const workerConfigSchema = z
  .object({
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
    /** Shards of the queues, as the nodes' QUEUE_SHARDS. Unset: the cluster's layout record, else the nodes' default. */
    QUEUE_SHARDS: int(1, 64).optional(),
    /** `receipts` jobs (so webhook POSTs) at once, per queue shard. */
    WORKER_CONCURRENCY: int(1, 1000).default(workerDefaults.concurrency),
    /** Lock of a running job; a dead worker's jobs run again after one to two of these. */
    WORKER_LOCK_MS: int(100).default(workerDefaults.lockDurationMs),
    /**
     * How long a job whose webhook POST succeeded is remembered when the worker died before recording it
     * completed, so that its next run does not POST it again (`workerDefaults.dedupeTtlMs`: why 10 minutes).
     * At least twice WORKER_LOCK_MS.
     */
    DEDUPE_TTL_MS: int(1000).default(workerDefaults.dedupeTtlMs),
  })
  .superRefine((c, ctx) => {
    if (c.DEDUPE_TTL_MS < 2 * c.WORKER_LOCK_MS)
      ctx.addIssue({
        code: 'custom',
        path: ['DEDUPE_TTL_MS'],
        message: `must be at least twice WORKER_LOCK_MS (${2 * c.WORKER_LOCK_MS}), so that a dead worker's jobs run again before it lapses`,
      });
  });

export type WorkerConfig = z.infer<typeof workerConfigSchema>;

/** Reads and validates the environment; throws a ConfigError naming the first bad variable. */
export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  return parseEnv(workerConfigSchema, env);
}
