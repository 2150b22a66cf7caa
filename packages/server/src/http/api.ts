import { timingSafeEqual } from 'node:crypto';
import { listNodes, type SessionRecord } from '@io-session/store';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { payloadBytes } from '../protocol/client-events.js';
import type { SessionHandler } from '../session-handler.js';
import { ApiError, sendError } from './errors.js';

export interface ApiOptions {
  handler: SessionHandler;
  /** Bearer key of the `/v1` routes; when unset they answer 401. */
  apiKey?: string | undefined;
  maxPayloadBytes: number;
  /** Extra readiness condition (e.g. the HTTP server is draining). */
  isReady?: () => boolean;
}

const tokenSchema = z.string().min(1).max(256);
const pushSchema = z.object({
  token: tokenSchema,
  data: z.unknown(),
  id: z.string().min(1).max(128).optional(),
  ttlMs: z
    .number()
    .int()
    .positive()
    .max(30 * 24 * 3600 * 1000)
    .optional(),
});
const broadcastSchema = z.object({ data: z.unknown() });
const pageSchema = z.object({
  cursor: z.string().max(2048).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new ApiError('bad_request', `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`);
}

/** What the API shows of a session (CONTRACT.md §7). */
export function publicSession(s: SessionRecord): object {
  return {
    token: s.token,
    sid: s.sid,
    createdAt: s.createdAt,
    connections: s.connections.map((c) => ({ id: c.id, nodeId: c.nodeId, protocol: c.protocol })),
    data: s.data,
    status: s.status,
    ...(s.graceUntil !== undefined ? { graceUntil: s.graceUntil } : {}),
  };
}

/** The HTTP API of a node: health, readiness and the `/v1` session and push routes. */
export function registerApi(app: FastifyInstance, options: ApiOptions): void {
  const { handler } = options;
  const key = options.apiKey ? Buffer.from(options.apiKey) : undefined;
  const ready = (): boolean => handler.isReady() && (options.isReady?.() ?? true);

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    if (err instanceof ApiError) return sendError(reply, err.code, err.message);
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return sendError(reply, 'payload_too_large', 'body too large');
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500)
      return sendError(reply, 'bad_request', err.message);
    if (!handler.isReady()) return sendError(reply, 'unavailable', 'Redis is unavailable; try again');
    app.log.error({ err }, 'request failed');
    return sendError(reply, 'internal', 'internal error');
  });
  app.setNotFoundHandler((_req, reply) => sendError(reply, 'not_found', 'no such route'));

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

  const authorize = async (req: FastifyRequest): Promise<void> => {
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

  app.register(
    async (v1) => {
      v1.addHook('onRequest', authorize);

      v1.get('/sessions', async (req) => {
        const q = parse(pageSchema, req.query);
        const page = await handler
          .getSessions({ cursor: q.cursor ?? null, limit: q.limit ?? 100 })
          .catch((err: unknown) => {
            if (err instanceof RangeError) throw new ApiError('bad_request', 'cursor: invalid');
            throw err;
          });
        return { sessions: page.sessions.map(publicSession), next: page.next };
      });

      v1.get<{ Params: { token: string } }>('/sessions/:token', async (req) => {
        const session = await handler.getSession(parse(tokenSchema, req.params.token));
        if (!session) throw new ApiError('not_found', 'no such session');
        return publicSession(session);
      });

      v1.delete<{ Params: { token: string } }>('/sessions/:token', async (req, reply) => {
        if (!(await handler.logout(parse(tokenSchema, req.params.token))))
          throw new ApiError('not_found', 'no such session');
        return reply.code(204).send();
      });

      v1.post('/push', async (req, reply) => {
        const body = parse(pushSchema, req.body);
        if (payloadBytes(body.data) > options.maxPayloadBytes) {
          throw new ApiError('payload_too_large', `data is larger than ${options.maxPayloadBytes} bytes`);
        }
        const result = await handler.push(body);
        if (!result.stored) {
          if (result.reason === 'id_conflict')
            throw new ApiError('conflict', 'that id is used by a message to another token');
          return reply
            .code(404)
            .send({ accepted: false, error: { code: 'not_found', message: 'no such session' } });
        }
        return reply.code(202).send({ id: result.id, accepted: true, duplicate: result.duplicate });
      });

      v1.post('/broadcast', async (req, reply) => {
        const body = parse(broadcastSchema, req.body);
        if (payloadBytes(body.data) > options.maxPayloadBytes) {
          throw new ApiError('payload_too_large', `data is larger than ${options.maxPayloadBytes} bytes`);
        }
        handler.broadcastMessage(body.data);
        return reply.code(202).send({ accepted: true });
      });

      v1.get('/nodes', async () => ({ nodes: await listNodes(handler.store) }));

      v1.get('/stats', async () => {
        const [messages, sessions, nodes] = await Promise.all([
          handler.store.messageStats(),
          handler.store.countSessions(),
          listNodes(handler.store),
        ]);
        return { at: Date.now(), sessions, nodes: nodes.length, messages };
      });

      v1.get('/feed', async (req) => {
        const { limit } = parse(
          z.object({ limit: z.coerce.number().int().min(1).max(200).optional() }),
          req.query,
        );
        const items = await handler.store.redis.lrange(handler.store.keys.recentFeed, 0, (limit ?? 50) - 1);
        return { items: items.map((text) => JSON.parse(text) as unknown) };
      });

      v1.get<{ Params: { id: string } }>('/messages/:id', async (req) => {
        const info = await handler.store.messageStatus(parse(z.string().min(1).max(128), req.params.id));
        if (!info) throw new ApiError('not_found', 'no such message (or its status retention has passed)');
        return info;
      });
    },
    { prefix: '/v1' },
  );
}
