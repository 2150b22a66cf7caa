import type { PushJobMessage } from '@io-session/worker';
import { z } from 'zod';
import { MAX_MESSAGE_ID_LENGTH, MAX_TOKEN_LENGTH, MAX_TTL_MS } from '../limits.js';
import { checkPayload, type PayloadLimits, type PayloadProblem } from '../protocol/payload.js';

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

/** Why a push was refused before anything was stored: a bad field, or a `data` too large, too deep or not JSON. */
export type PushRejection = 'invalid' | PayloadProblem;

/**
 * A push (or broadcast) refused before it touched Redis: `field` names what is wrong (`token`, `ttlMs`,
 * `data`, `messages[3].data`). Thrown by the in-process API (`push`, `pushMessage`, `pushMany`,
 * `broadcastMessage`): a call that breaks the limits is a bug of the caller, not a state of the cluster, so
 * it rejects instead of resolving `false`.
 */
export class PushRejectedError extends Error {
  constructor(
    readonly reason: PushRejection,
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'PushRejectedError';
  }
}

/**
 * Checks one push on any path: the fields (`pushMessageSchema`), then its `data` (`MAX_PAYLOAD_BYTES`,
 * `MAX_DEPTH`). `at` prefixes the field names (`messages[3]`). @returns the message with only its known fields.
 * @throws PushRejectedError
 */
export function checkPush(value: unknown, limits: PayloadLimits, at = ''): PushJobMessage {
  const parsed = pushMessageSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = join(at, issue?.path.join('.') ?? '');
    throw new PushRejectedError('invalid', field || 'message', `${field || 'message'}: ${issue?.message}`);
  }
  checkData(parsed.data.data, limits, join(at, 'data'));
  const { token, data, id, ttlMs } = parsed.data;
  return { token, data, ...(id !== undefined ? { id } : {}), ...(ttlMs !== undefined ? { ttlMs } : {}) };
}

/** Checks the `data` of a push or broadcast. @throws PushRejectedError */
export function checkData(data: unknown, limits: PayloadLimits, field = 'data'): void {
  const checked = checkPayload(data, limits, field);
  if (!checked.ok) throw new PushRejectedError(checked.problem, field, checked.message);
}

function join(at: string, field: string): string {
  return at && field ? `${at}.${field}` : at || field;
}
