import { randomBytes } from 'node:crypto';
import {
  recipientMessageId,
  type GroupMemberResult,
  type PushRefusal,
  type PushResult,
} from '@io-session/store';
import { describeIssues, groupNameSchema, pushJobVariants } from '@io-session/worker';
import type { z } from 'zod';
import type { PayloadLimits } from '../protocol/payload.js';
import { checkData, PushRejectedError } from './push-input.js';

export { GroupRefusedError, type GroupRefusal } from './group-refused.js';

/** One message to several sessions: `{ tokens, data, id?, ttlMs? }` (CONTRACT.md §10). */
export type TokensPush = z.infer<typeof pushJobVariants.tokens>;

/** One message to every member of a group: `{ group, data, id?, ttlMs? }` (CONTRACT.md §10). */
export type GroupPush = z.infer<typeof pushJobVariants.group>;

/** What a multi-recipient push answers per token, in the order given (CONTRACT.md §10). */
export interface RecipientResult {
  token: string;
  id: string;
  accepted: boolean;
  /** Stored before under this id (a retried call): not stored again. */
  duplicate?: boolean;
  reason?: PushRefusal;
}

/** What a group push answers: its id (the members' ids derive from it) and how many members have the message. */
export interface GroupPushResult {
  id: string;
  recipients: number;
  /** The group had no members (an unknown group): nothing was stored. */
  empty?: true;
}

function checked<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.join('.') || what;
  throw new PushRejectedError('invalid', field, describeIssues(parsed.error, 1));
}

function checkSomeData(data: unknown, limits: PayloadLimits): void {
  if (data === undefined) throw new PushRejectedError('invalid', 'data', 'data: required');
  checkData(data, limits);
}

/** Checks a group name. @throws PushRejectedError naming `group` */
export function checkGroupName(group: unknown): string {
  return checked(groupNameSchema, group, 'group');
}

/** Checks a push to several tokens: 1 to 1,000 distinct tokens, then its `data`. @throws PushRejectedError */
export function checkTokensPush(value: unknown, limits: PayloadLimits): TokensPush {
  const push = checked(pushJobVariants.tokens, value, 'message');
  checkSomeData(push.data, limits);
  return push;
}

/** Checks a push to a group: its name, then its `data`. @throws PushRejectedError */
export function checkGroupPush(value: unknown, limits: PayloadLimits): GroupPush {
  const push = checked(pushJobVariants.group, value, 'message');
  checkSomeData(push.data, limits);
  return push;
}

/** The id a push to several sessions derives its recipients' ids from: the given one, or a new one. */
export function pushBaseId(id: string | undefined): string {
  return id ?? `p.${randomBytes(12).toString('base64url')}`;
}

/** The messages of a push to several tokens, each with its derived id. */
export function recipientMessages(push: TokensPush, base: string) {
  return push.tokens.map((token) => ({
    token,
    data: push.data,
    id: recipientMessageId(base, token),
    ...(push.ttlMs !== undefined ? { ttlMs: push.ttlMs } : {}),
  }));
}

/** A stored (or refused) message as a multi-recipient push answers it. */
export function recipientResult(token: string, id: string, result: PushResult): RecipientResult {
  if (result.stored) return { token, id, accepted: true, ...(result.duplicate ? { duplicate: true } : {}) };
  return { token, id, accepted: false, reason: result.reason };
}

/** What storing and routing pushes to several sessions needs (delivery/pusher.ts). */
export interface RecipientPusher {
  pushMany(messages: ReturnType<typeof recipientMessages>): Promise<PushResult[]>;
  pushToGroup(push: {
    group: string;
    data: unknown;
    id: string;
    ttlMs?: number;
  }): Promise<GroupMemberResult[] | 'empty'>;
}

/** Stores and routes one message per token, each with its id derived from `base`. Results in the order given. */
export async function pushToTokens(
  pusher: RecipientPusher,
  push: TokensPush,
  base: string,
): Promise<RecipientResult[]> {
  const messages = recipientMessages(push, base);
  const results = await pusher.pushMany(messages);
  return messages.map((m, i) => recipientResult(m.token, m.id, results[i] as PushResult));
}

/**
 * Stores and routes one message for every member of a group, each with its id derived from `base`. A group without
 * members stores nothing (`recipients: 0`). @throws GroupRefusedError when it has more than `maxGroupSize`
 */
export async function pushToGroup(
  pusher: RecipientPusher,
  push: GroupPush,
  base: string,
): Promise<GroupPushResult> {
  const { group, data, ttlMs } = push;
  const members = await pusher.pushToGroup({
    group,
    data,
    id: base,
    ...(ttlMs !== undefined ? { ttlMs } : {}),
  });
  if (members === 'empty') return { id: base, recipients: 0, empty: true };
  return { id: base, recipients: members.filter((m) => m.result.stored).length };
}
