import { createHash } from 'node:crypto';
import type { Receipt } from '../types.js';

/**
 * The ids of the messages one push makes for several sessions (CONTRACT.md §10): each recipient's id is derived
 * from the push's id and its token, so a retried call, job or replayed script finds the message it stored before.
 * push-group-1.lua derives a group member's id the same way, in Redis.
 *
 *   to several tokens:  <id>/<first 16 hex digits of SHA-1(token)>
 *   to a group:         <id>/<first 16 hex digits of SHA-1(token)>@<group>
 */

/** What a group name is made of (CONTRACT.md §10): never `@` or `/`, so a member id's group reads back whole. */
const GROUP_TAIL = /\/[0-9a-f]{16}@([A-Za-z0-9._:-]{1,128})$/;

/** The id of `token`'s message of a push to several tokens whose id is `base`. */
export function recipientMessageId(base: string, token: string): string {
  return `${base}/${createHash('sha1').update(token).digest('hex').slice(0, 16)}`;
}

/** The id of `token`'s message of a push to `group` whose id is `base` (what push-group-1.lua makes). */
export function memberMessageId(base: string, token: string, group: string): string {
  return `${recipientMessageId(base, token)}@${group}`;
}

/** The group a message was pushed to, read from its id; undefined for any other message. */
export function groupOfMessageId(id: string): string | undefined {
  if (id.indexOf('@') < 0) return undefined;
  return GROUP_TAIL.exec(id)?.[1];
}

/** The receipt with its message's `group`, when the message was a group push. */
export function withGroup(receipt: Receipt): Receipt {
  const group = groupOfMessageId(receipt.id);
  if (group !== undefined) receipt.group = group;
  return receipt;
}
