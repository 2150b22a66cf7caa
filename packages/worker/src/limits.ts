/**
 * Hard limits of what the cluster accepts from apps, in one place (CONTRACT.md §4, §7, §9, §10): the job and
 * body schemas (schemas.ts) and the nodes (which re-export them) check against these.
 */

/** Longest session token accepted (a JWT `sub` or a plain token). */
export const MAX_TOKEN_LENGTH = 256;

/** Longest message id an app may choose. */
export const MAX_MESSAGE_ID_LENGTH = 128;

/** Longest `ttlMs` of a push: 30 days. */
export const MAX_TTL_MS = 30 * 24 * 3600 * 1000;

/** Most recipients of one multi-recipient push (`tokens`, CONTRACT.md §10). */
export const MAX_PUSH_RECIPIENTS = 1000;

/** What a group name is made of: 1 to 128 characters of `[A-Za-z0-9._:-]` (CONTRACT.md §10). */
export const GROUP_NAME_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
