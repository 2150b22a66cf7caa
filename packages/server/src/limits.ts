/** Hard limits of what a node accepts from clients and apps, in one place (CONTRACT.md §4, §7, §9). */

import { MAX_PUSH_BATCH } from '@io-session/worker';

/** Longest session token accepted (a JWT `sub` or a plain token). */
export const MAX_TOKEN_LENGTH = 256;

/** Longest message id an app may choose. */
export const MAX_MESSAGE_ID_LENGTH = 128;

/** Longest `ttlMs` of a push: 30 days. */
export const MAX_TTL_MS = 30 * 24 * 3600 * 1000;

/**
 * Deepest nesting of arrays and objects accepted in any payload: the `data` of a push or a broadcast (HTTP,
 * in-process, queue job), and a client event (whose `{ token, data }` adds one level, so `data` may nest as
 * deep on every path). `[1]` is one level, `{ "a": [1] }` two.
 *
 * Every encoder on a message's way recurses. Measured on Node 20.20 (V8 11.3) with `[[[…]]]` and
 * `{"a":{"a":…}}`, called from a shallow stack: JSON.stringify throws RangeError at 4,184 levels,
 * socket.io-parser's encoder (the emit to a client) at 4,181, safe-stable-stringify (the store's canonical
 * JSON) at 4,049–5,706 depending on warm-up; msgpackr fails at 1,410–2,049 but is not on the data path (BullMQ
 * packs job options with it; job data is JSON). JSON.parse, secure-json-parse (Fastify's body parser) and socket.io-parser's decoder do not recurse (2,000,000 levels
 * parse). A handler runs some dozens of frames deep, and frame sizes change as V8 optimises, so the limit stays
 * far below: 64 is more than any real message nests and 20 times less than the lowest failure.
 */
export const MAX_DEPTH = 64;

/** Most messages one `{ messages: [...] }` push job may carry (`PushQueue#pushMany` splits into such jobs). */
export const MAX_BATCH = MAX_PUSH_BATCH;
