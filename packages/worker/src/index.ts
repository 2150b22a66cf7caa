export * from './queues.js';
export * from './limits.js';
export {
  tokenSchema,
  messageIdSchema,
  groupNameSchema,
  pushMessageSchema,
  tokensSchema,
  pushJobVariants,
  pushJobSchema,
  pushJobVariantOf,
  receiptSchema,
  receiptsJobSchema,
  sessionEventSchema,
  receiptsWebhookBodySchema,
  sessionEventsWebhookBodySchema,
  describeIssues,
} from './schemas.js';
export { jsonSchemas, jsonSchemaSources } from './json-schemas.js';
export { pushJobOf, receiptsOf, eventOf } from './jobs.js';
export { PushQueue, pushJobOptions, type PushQueueOptions, type PushOptions } from './push-queue.js';
export {
  createWorker,
  IoSessionWorker,
  type IoSessionWorkerOptions,
  type IoSessionWorkerEvents,
  type ConnectionListenerEvent,
  type JobOutcome,
  type JobFailure,
} from './worker.js';
export { CAPPED_BACKOFF, cappedBackoffDelay, backoffStrategy } from './backoff.js';
export { defaultRedisTarget, defaultKeyPrefix } from './connection.js';
export { JobMarkerKeys, MARKER_SHARDS, type HandlerScope } from './job-marker-keys.js';
export { JobMarkers, type Claim, type JobMarkersOptions } from './job-markers.js';
export { Batcher } from './batcher.js';
export { Webhook, WebhookError, redactUrl, type WebhookOptions } from './webhook.js';
export {
  verifyWebhook,
  signWebhook,
  WEBHOOK_SIGNATURE_HEADER,
  WEBHOOK_TIMESTAMP_HEADER,
  WEBHOOK_TOLERANCE_MS,
  type VerifyWebhookInput,
  type WebhookHeaders,
} from './webhook-signature.js';
export { workerDefaults } from './defaults.js';
export { loadWorkerConfig, workerConfigSchema, type WorkerConfig } from './worker-config.js';
export { runWorkerCommand, startWorker } from './worker-command.js';
export { ConfigError, parseEnv, shownValue, envInt, envRedisUrl, envSeeds } from './env.js';
export { installProcessGuards, type ProcessGuardOptions, type ProcessErrorKind } from './process-guards.js';
export {
  TRACER_NAME,
  tracingRequested,
  traceparentOf,
  spanContextOf,
  contextOf,
  linksOf,
} from './tracing/trace-context.js';
export { bullTelemetry, telemetryOption } from './tracing/bullmq-telemetry.js';
export { startTracing, startTracingOrExit, stopTracing } from './tracing/sdk.js';
export { TRACING_PACKAGES } from './tracing/optional.js';
