import { z } from 'zod';
import { MAX_MESSAGE_ID_LENGTH, MAX_TOKEN_LENGTH, MAX_TTL_MS } from '../limits.js';

/** A session token as apps name it (HTTP paths and bodies, queue jobs). */
export const tokenSchema = z.string().min(1).max(MAX_TOKEN_LENGTH);

/** A message id as apps name it. */
export const messageIdSchema = z.string().min(1).max(MAX_MESSAGE_ID_LENGTH);

/** One push as apps give it, on every path (HTTP body, `push` queue job, batch job member). */
export const pushMessageSchema = z.object({
  token: tokenSchema,
  data: z.unknown(),
  id: messageIdSchema.optional(),
  ttlMs: z.number().int().positive().max(MAX_TTL_MS).optional(),
});
