import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { pushJobVariants } from '@io-session/worker';
import { checkData, pushMessageSchema, tokenSchema } from '../delivery/push-input.js';
import { MAX_MESSAGE_ID_LENGTH } from '../limits.js';
import type { SessionHandler } from '../session-handler.js';
import { ApiError } from './errors.js';
import { parse } from './parse.js';

const broadcastSchema = z.object({ data: z.unknown() });

/** Ids a message status may be asked by: an app's, or one derived from it for a recipient or group member. */
const statusIdSchema = z
  .string()
  .min(1)
  .max(MAX_MESSAGE_ID_LENGTH + 18 + 129);

/**
 * `/v1/push` (`{ token, … }`, or `{ tokens: [...], … }` for several sessions), `/v1/broadcast` and `/v1/messages/:id`. The handler checks every push and broadcast (fields,
 * `MAX_PAYLOAD_BYTES`, `MAX_DEPTH`); its `PushRejectedError` becomes 413 or 400 in api.ts. `maxPayloadBytes`,
 * when given, is a further limit of this API only.
 */
export function registerPushRoutes(
  v1: FastifyInstance,
  handler: SessionHandler,
  maxPayloadBytes: number | undefined,
): void {
  const checkSize = (data: unknown): void => {
    if (maxPayloadBytes !== undefined) checkData(data, { maxBytes: maxPayloadBytes });
  };

  v1.post('/push', async (req, reply) => {
    if (typeof req.body === 'object' && req.body !== null && 'tokens' in req.body) {
      const { tokens, data, ...options } = parse(pushJobVariants.tokens, req.body);
      checkSize(data);
      return reply.code(202).send({ results: await handler.pushToTokens(tokens, data, options) });
    }
    const body = parse(pushMessageSchema, req.body);
    checkSize(body.data);
    const result = await handler.push(body);
    if (!result.stored) {
      switch (result.reason) {
        case 'id_conflict':
          throw new ApiError('conflict', 'that id is used by a message to another token');
        case 'inbox_full':
          return reply.code(429).send({
            accepted: false,
            reason: 'inbox_full',
            error: { code: 'inbox_full', message: 'the session holds the most unacknowledged pushes it may' },
          });
        case 'backlog':
          throw new ApiError(
            'unavailable',
            'receipts and session events are not reaching the queues; try again',
          );
        default:
          return reply
            .code(404)
            .send({ accepted: false, error: { code: 'not_found', message: 'no such session' } });
      }
    }
    return reply.code(202).send({ id: result.id, accepted: true, duplicate: result.duplicate });
  });

  v1.post('/broadcast', async (req, reply) => {
    const body = parse(broadcastSchema, req.body);
    checkSize(body.data);
    handler.broadcastMessage(body.data);
    return reply.code(202).send({ accepted: true });
  });

  v1.get<{ Params: { id: string }; Querystring: { token?: string } }>('/messages/:id', async (req) => {
    const { token } = parse(z.object({ token: tokenSchema.optional() }), req.query);
    const info = await handler.store.messages.status(parse(statusIdSchema, req.params.id), token);
    if (!info) throw new ApiError('not_found', 'no such message (or its status retention has passed)');
    return info;
  });
}
