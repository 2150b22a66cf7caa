import { storeDefaults } from '@io-session/store';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { tokenSchema } from '../delivery/push-input.js';
import type { SessionHandler } from '../session-handler.js';
import { ApiError } from './errors.js';
import { parse, publicSession } from './parse.js';

const pageSchema = z.object({
  cursor: z.string().max(2048).optional(),
  limit: z.coerce.number().int().min(1).max(storeDefaults.maxPageSize).optional(),
});

/** `/v1/sessions`: list (paginated, each live session once), one, logout. */
export function registerSessionRoutes(v1: FastifyInstance, handler: SessionHandler): void {
  v1.get('/sessions', async (req) => {
    const q = parse(pageSchema, req.query);
    const page = await handler
      .getSessions({ cursor: q.cursor ?? null, limit: q.limit ?? storeDefaults.pageSize })
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
}
