/** Hard limits of what a node accepts from clients and apps, in one place (CONTRACT.md §4, §7, §9). */

/** Longest session token accepted (a JWT `sub` or a plain token). */
export const MAX_TOKEN_LENGTH = 256;

/** Longest message id an app may choose. */
export const MAX_MESSAGE_ID_LENGTH = 128;

/** Longest `ttlMs` of a push: 30 days. */
export const MAX_TTL_MS = 30 * 24 * 3600 * 1000;
