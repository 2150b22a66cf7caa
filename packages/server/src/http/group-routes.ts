import { storeDefaults } from '@io-session/store';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { checkData, tokenSchema } from '../delivery/push-input.js';
import { checkGroupName } from '../delivery/recipients.js';
import type { SessionHandler } from '../session-handler.js';
import { ApiError } from './errors.js';
import { parse } from './parse.js';

const pageSchema = z.object({
  cursor: z.string().max(2048).optional(),
  limit: z.coerce.number().int().min(1).max(storeDefaults.maxPageSize).optional(),
});

/** The body of `POST /v1/groups/:group/push` (the group is in the path); no other field (a misspelt `ttl` is refused). */
const groupPushBody = z.strictObject({
  data: z.unknown(),
  id: z.string().optional(),
  ttlMs: z.number().optional(),
});

type GroupParams = { Params: { token: string; group: string } };

/**
 * Groups (CONTRACT.md §10): membership set by the server (`PUT` / `DELETE /v1/sessions/:token/groups/:group`), a
 * group's members page by page (`GET /v1/groups/:group`), and a push to every member
 * (`POST /v1/groups/:group/push`). Malformed names are 400; a full group or session 409; a group push to a group
 * without members 404, to one above `maxGroupSize` 413; none of them changes anything.
 */
export function registerGroupRoutes(
  v1: FastifyInstance,
  handler: SessionHandler,
  maxPayloadBytes: number | undefined,
): void {
  v1.put<GroupParams>('/sessions/:token/groups/:group', async (req, reply) => {
    const { token, group } = req.params;
    if (!(await handler.joinGroup(parse(tokenSchema, token), checkGroupName(group))))
      throw new ApiError('not_found', 'no such session');
    return reply.code(204).send();
  });

  v1.delete<GroupParams>('/sessions/:token/groups/:group', async (req, reply) => {
    const { token, group } = req.params;
    if (!(await handler.leaveGroup(parse(tokenSchema, token), checkGroupName(group))))
      throw new ApiError('not_found', 'no such session');
    return reply.code(204).send();
  });

  v1.get<{ Params: { group: string } }>('/groups/:group', async (req) => {
    const group = checkGroupName(req.params.group);
    const q = parse(pageSchema, req.query);
    return handler
      .getGroupMembers(group, { cursor: q.cursor ?? null, limit: q.limit ?? storeDefaults.pageSize })
      .catch((err: unknown) => {
        if (err instanceof RangeError) throw new ApiError('bad_request', 'cursor: invalid');
        throw err;
      });
  });

  v1.post<{ Params: { group: string } }>('/groups/:group/push', async (req, reply) => {
    const group = checkGroupName(req.params.group);
    const body = parse(groupPushBody, req.body);
    if (maxPayloadBytes !== undefined) checkData(body.data, { maxBytes: maxPayloadBytes });
    const options = {
      ...(body.id !== undefined ? { id: body.id } : {}),
      ...(body.ttlMs !== undefined ? { ttlMs: body.ttlMs } : {}),
    };
    const pushed = await handler.pushToGroup(group, body.data, options);
    if (pushed.empty) throw new ApiError('not_found', `group ${group} has no members`);
    return reply.code(202).send({ id: pushed.id, recipients: pushed.recipients });
  });
}
