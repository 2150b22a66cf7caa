import type { SessionRecord } from '@io-session/store';
import type { z } from 'zod';
import { ApiError } from './errors.js';

/** Validates input with a schema; refuses it with 400 naming the first bad field. */
export function parse<T>(schema: z.ZodType<T>, value: unknown): T {
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
