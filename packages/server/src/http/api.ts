import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { SessionHandler } from '../session-handler.js';
import { PushRejectedError } from '../delivery/push-input.js';
import { GroupRefusedError } from '../delivery/recipients.js';
import { ApiError, codeOfStatus, sendError } from './errors.js';
import { registerGroupRoutes } from './group-routes.js';
import { registerOpsRoutes } from './ops-routes.js';
import { registerPushRoutes } from './push-routes.js';
import { registerSessionRoutes } from './session-routes.js';

export { publicSession } from './parse.js';
export { httpErrorOptions } from './framework-errors.js';

export interface ApiOptions {
  handler: SessionHandler;
  /** Bearer key of the `/v1` routes; when unset they answer 401. */
  apiKey?: string | undefined;
  /** A further limit on pushed `data` for this API; the handler's `maxPayloadBytes` holds anyway. */
  maxPayloadBytes?: number;
  /** Extra readiness condition (e.g. the HTTP server is draining). */
  isReady?: () => boolean;
}

/** The HTTP API of a node (CONTRACT.md §7): health, readiness, metrics and the `/v1` routes behind the API key. */
export function registerApi(app: FastifyInstance, options: ApiOptions): void {
  const { handler } = options;
  registerErrorHandlers(app, handler);
  registerHealth(app, handler, () => handler.isReady() && (options.isReady?.() ?? true));
  const authorize = bearer(handler, options.apiKey);
  app.register(
    async (v1) => {
      v1.addHook('onRequest', authorize);
      registerSessionRoutes(v1, handler);
      registerPushRoutes(v1, handler, options.maxPayloadBytes);
      registerGroupRoutes(v1, handler, options.maxPayloadBytes);
      registerOpsRoutes(v1, handler);
    },
    { prefix: '/v1' },
  );
}

/**
 * Every error answer in the contract's shape. Bad input (ours, Fastify's, a refused push) is a 4xx; Redis away
 * is 503; anything else is a bug: logged with the request and counted, answered 500 — and the node goes on.
 */
function registerErrorHandlers(app: FastifyInstance, handler: SessionHandler): void {
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    if (err instanceof ApiError) return sendError(reply, err.code, err.message);
    if (err instanceof GroupRefusedError) return sendError(reply, err.reason, err.message);
    if (err instanceof PushRejectedError)
      return sendError(reply, err.reason === 'too_large' ? 'payload_too_large' : 'bad_request', err.message);
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500)
      return sendError(reply, codeOfStatus(err.statusCode), err.message);
    if (!handler.isReady()) return sendError(reply, 'unavailable', 'Redis is unavailable; try again');
    handler.metrics.unexpectedErrors.inc({ where: 'http' });
    req.log.error({ err, method: req.method, url: req.routeOptions.url ?? req.url }, 'request failed');
    return sendError(reply, 'internal', 'internal error');
  });
  app.setNotFoundHandler((_req, reply) => sendError(reply, 'not_found', 'no such route'));
}

function registerHealth(app: FastifyInstance, handler: SessionHandler, ready: () => boolean): void {
  app.get('/healthz', async () => ({ status: 'ok', nodeId: handler.nodeId }));
  app.get('/readyz', async (_req, reply) =>
    ready()
      ? { status: 'ready', nodeId: handler.nodeId }
      : reply
          .code(503)
          .send({ status: handler.draining ? 'draining' : 'unavailable', nodeId: handler.nodeId }),
  );
  app.get('/metrics', async (_req, reply) =>
    reply.type(handler.metrics.registry.contentType).send(await handler.metrics.registry.metrics()),
  );
}

/** The `/v1` guard: the bearer key (compared in constant time), then Redis must answer. */
function bearer(handler: SessionHandler, apiKey: string | undefined): (req: FastifyRequest) => Promise<void> {
  const key = apiKey ? Buffer.from(apiKey) : undefined;
  return async (req) => {
    const header = req.headers.authorization ?? '';
    const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '');
    if (!key || given.length !== key.length || !timingSafeEqual(given, key)) {
      throw new ApiError(
        'unauthorized',
        key ? 'missing or wrong bearer key' : 'API_KEY is not set on this node',
      );
    }
    if (!handler.isReady() && !handler.draining)
      throw new ApiError('unavailable', 'Redis is unavailable; try again');
  };
}
