import { LayoutError } from '@io-session/store';
import { pino, type Logger } from 'pino';
import { createWorker, type IoSessionWorker, type IoSessionWorkerOptions } from './worker.js';
import { ConfigError } from './env.js';
import { installProcessGuards } from './process-guards.js';
import { loadWorkerConfig, type WorkerConfig } from './worker-config.js';
import { startTracingOrExit, stopTracing } from './tracing/sdk.js';
import { redactUrl, Webhook } from './webhook.js';

/**
 * `io-session worker`: consumes `receipts` and `session-events` and POSTs each job's items as a JSON array
 * to `RECEIPT_WEBHOOK_URL` / `EVENTS_WEBHOOK_URL` (signed with `WEBHOOK_SECRET` when set), retrying with the capped backoff until the endpoint
 * answers 2xx. A queue without a webhook has its items logged at debug and acknowledged.
 * Bad configuration: one line on stderr, exit 2. SIGTERM / SIGINT: graceful close, exit 0; a second
 * signal exits at once. Unhandled rejections are logged and contained; an uncaught exception closes the
 * worker and exits 1 (see `installProcessGuards`).
 */
export async function runWorkerCommand(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const config = loadConfigOrExit(env);
  const tracing = startTracingOrExit('io-session-worker', env);
  const logger = pino({
    level: config.LOG_LEVEL,
    base: { component: 'worker' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
  const worker = startWorker(config, logger, tracing);
  // Another QUEUE_SHARDS than the cluster's layout record is a configuration error: one line, exit 2.
  worker.ready().catch((err: unknown) => {
    if (!(err instanceof LayoutError)) return;
    process.stderr.write(`io-session: invalid configuration: ${err.message}\n`);
    process.exit(2);
  });
  const stop = (): Promise<void> => worker.close().finally(stopTracing);
  // Uncaught exception: close (running jobs finish or are taken over after their lock), then exit 1.
  installProcessGuards({ logger, stop, stopTimeoutMs: config.WORKER_LOCK_MS });
  logger.info(
    {
      prefix: config.KEY_PREFIX,
      redis: config.REDIS_CLUSTER ? { cluster: config.REDIS_CLUSTER } : redactUrl(config.REDIS_URL),
      receiptWebhook: config.RECEIPT_WEBHOOK_URL ? redactUrl(config.RECEIPT_WEBHOOK_URL) : null,
      eventsWebhook: config.EVENTS_WEBHOOK_URL ? redactUrl(config.EVENTS_WEBHOOK_URL) : null,
      signed: config.WEBHOOK_SECRET !== undefined,
      concurrency: config.WORKER_CONCURRENCY,
      tracing,
    },
    'io-session worker starting',
  );

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    logger.info({ signal }, 'stopping: waiting for running jobs');
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/** Builds the worker of the command: webhook handlers, or debug logging where no webhook is set. */
export function startWorker(config: WorkerConfig, logger: Logger, tracing = false): IoSessionWorker {
  const common = { timeoutMs: config.WEBHOOK_TIMEOUT_MS, secret: config.WEBHOOK_SECRET };
  const receipts = config.RECEIPT_WEBHOOK_URL && new Webhook({ url: config.RECEIPT_WEBHOOK_URL, ...common });
  const events = config.EVENTS_WEBHOOK_URL && new Webhook({ url: config.EVENTS_WEBHOOK_URL, ...common });
  const options: IoSessionWorkerOptions = {
    connection: config.REDIS_CLUSTER ? { cluster: config.REDIS_CLUSTER } : config.REDIS_URL,
    prefix: config.KEY_PREFIX,
    concurrency: config.WORKER_CONCURRENCY,
    ...(config.QUEUE_SHARDS !== undefined ? { queueShards: config.QUEUE_SHARDS } : {}),
    lockDurationMs: config.WORKER_LOCK_MS,
    dedupeTtlMs: config.DEDUPE_TTL_MS,
    tracing,
    logger,
    onReceipts: receipts
      ? (items) => receipts.post(items)
      : (items) => logger.debug({ receipts: items }, 'receipts (no RECEIPT_WEBHOOK_URL)'),
    onSessionEvents: events
      ? (items) => events.post(items)
      : (items) => logger.debug({ events: items }, 'session events (no EVENTS_WEBHOOK_URL)'),
  };
  return createWorker(options);
}

function loadConfigOrExit(env: NodeJS.ProcessEnv): WorkerConfig {
  try {
    return loadWorkerConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`io-session: invalid configuration: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
