import { installProcessGuards, startTracingOrExit, stopTracing } from '@io-session/worker';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { Server } from 'socket.io';
import { createAuthenticator } from './auth.js';
import type { Config } from './config.js';
import { httpErrorOptions, registerApi } from './http/api.js';
import { registerStatic } from './http/static.js';
import { createLogger, type Logger } from './logger.js';
import type { SessionHandlerOptions } from './options.js';
import { SessionHandler } from './session-handler.js';

export interface RunningNode {
  handler: SessionHandler;
  io: Server;
  port: number;
  logger: Logger;
  /** Graceful stop: not ready, refuse new connections, drain over `drainMs`, hand over, close. */
  shutdown(drainMs?: number): Promise<void>;
}

/** Starts one io-session node: HTTP API + Socket.IO on `PORT`, state in Redis. */
export async function startNode(config: Config): Promise<RunningNode> {
  const logger = createLogger(config.LOG_LEVEL, { nodeId: config.NODE_ID });
  const app = Fastify({
    // Request logs are debug noise at this rate: the HTTP logger only speaks from warn up.
    loggerInstance: logger.child({ component: 'http' }, { level: 'warn' }) as FastifyBaseLogger,
    bodyLimit: config.MAX_PAYLOAD_BYTES * 2 + 4096,
    // Session tokens may be 256 characters (URL-encoded: more) in /v1/sessions/:token.
    routerOptions: { maxParamLength: 1024 },
    // Fastify's own refusals (bad URL encoding, a too long parameter, unparsable HTTP) in the contract's shape.
    ...httpErrorOptions,
  });
  let accepting = true;
  const io = new Server({
    maxHttpBufferSize: Math.max(1_000_000, config.MAX_PAYLOAD_BYTES * 2),
    allowRequest: (_req, callback) => callback(accepting ? null : 'draining', accepting),
    cors: { origin: true, credentials: true },
  });
  const handler = new SessionHandler(io, handlerOptions(config, logger));
  registerApi(app, { handler, apiKey: config.API_KEY });
  registerStatic(app);
  await app.ready();
  io.attach(app.server);
  await handler.ready();
  await app.listen({ port: config.PORT, host: '0.0.0.0' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  logger.info({ port }, 'listening');

  let stopping: Promise<void> | undefined;
  const shutdown = (drainMs = config.DRAIN_MS): Promise<void> => {
    stopping ??= (async () => {
      accepting = false;
      logger.info({ drainMs, connections: handler.connectionCount }, 'draining');
      await handler.close({ drainMs });
      await new Promise<void>((resolve) => io.close(() => resolve()));
      await app.close();
      logger.info('stopped');
    })();
    return stopping;
  };
  return { handler, io, port, logger, shutdown };
}

/** The handler options a node's configuration stands for. */
function handlerOptions(config: Config, logger: Logger): SessionHandlerOptions {
  return {
    redis: config.REDIS_CLUSTER ? { cluster: config.REDIS_CLUSTER } : config.REDIS_URL,
    nodeId: config.NODE_ID,
    prefix: config.KEY_PREFIX,
    timeout: config.SESSION_TIMEOUT_MS,
    messageTtlMs: config.MESSAGE_TTL_MS,
    statusRetentionMs: config.MESSAGE_STATUS_RETENTION_MS,
    maxPayloadBytes: config.MAX_PAYLOAD_BYTES,
    rateLimitPerSec: config.RATE_LIMIT_PER_SEC,
    auth:
      config.AUTH === 'jwt'
        ? createAuthenticator('jwt', config.AUTH_SECRET, { maxAgeS: config.JWT_MAX_AGE_S })
        : { mode: 'none' },
    maxConnections: config.MAX_CONNECTIONS,
    maxConnectionsPerIp: config.MAX_CONNECTIONS_PER_IP,
    maxConnectionsPerToken: config.MAX_CONNECTIONS_PER_TOKEN,
    trustProxy: config.TRUST_PROXY,
    heartbeatMs: config.HEARTBEAT_MS,
    heartbeatTtlMs: config.HEARTBEAT_TTL_MS,
    sweepIntervalMs: config.SWEEP_INTERVAL_MS,
    keyspaceNotifications: config.KEYSPACE_NOTIFICATIONS,
    buckets: config.BUCKETS,
    queueShards: config.QUEUE_SHARDS,
    replicaAcks: config.REDIS_WAIT_REPLICAS,
    replicaTimeoutMs: config.REDIS_WAIT_TIMEOUT_MS,
    keepCompletedJobs: config.QUEUE_KEEP_COMPLETED,
    maxOutboxEntries: config.MAX_OUTBOX_ENTRIES,
    logger: logger.child({ component: 'sessions' }),
  };
}

/**
 * `io-session node`: runs until SIGTERM (graceful, exit 0) or a second signal (exit at once). Unhandled
 * rejections are logged, counted (`ios_unexpected_errors_total`) and contained; an uncaught exception drains
 * and exits 1 (see `installProcessGuards`).
 */
export async function runNodeCommand(config: Config): Promise<void> {
  // Tracing (OTEL_EXPORTER_OTLP_ENDPOINT): the SDK is registered before the node makes its first span.
  startTracingOrExit('io-session-node');
  const node = await startNode(config);
  const stop = (): Promise<void> => node.shutdown().finally(stopTracing);
  node.handler.on('fatal', (err) => {
    process.stderr.write(`io-session: invalid configuration: ${err.message}\n`);
    void node.shutdown(0).finally(() => process.exit(2));
  });
  installProcessGuards({
    logger: node.logger,
    count: (where) => node.handler.metrics.unexpectedErrors.inc({ where }),
    stop,
    stopTimeoutMs: config.DRAIN_MS + 10_000,
  });
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) {
      node.logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        node.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
