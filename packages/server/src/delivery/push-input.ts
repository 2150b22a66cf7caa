import { pushMessageSchema, tokenSchema, type PushJobMessage } from '@io-session/worker';
import { checkPayload, type PayloadLimits, type PayloadProblem } from '../protocol/payload.js';

/**
 * What apps give a push, on every path (HTTP body, `push` queue job, batch job member). The schemas are defined
 * once with the other job schemas in @io-session/worker (schemas.ts), which `npm run schemas` publishes as JSON
 * Schemas; the node checks HTTP bodies, jobs and in-process calls with the same ones.
 */
export { tokenSchema, messageIdSchema, pushMessageSchema } from '@io-session/worker';

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

/** Checks a session token an app names. @throws PushRejectedError naming `token` */
export function checkToken(token: unknown): string {
  const parsed = tokenSchema.safeParse(token);
  if (!parsed.success)
    throw new PushRejectedError('invalid', 'token', `token: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/** Checks the `data` of a push or broadcast. @throws PushRejectedError */
export function checkData(data: unknown, limits: PayloadLimits, field = 'data'): void {
  const checked = checkPayload(data, limits, field);
  if (!checked.ok) throw new PushRejectedError(checked.problem, field, checked.message);
}

function join(at: string, field: string): string {
  return at && field ? `${at}.${field}` : at || field;
}
