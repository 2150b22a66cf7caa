/**
 * Hard limits of what a node accepts from clients and apps (CONTRACT.md §4, §7, §9, §10). Those a queue job and an
 * HTTP body share are defined once, next to the job schemas in @io-session/worker.
 */
import { MAX_PUSH_BATCH } from '@io-session/worker';

export {
  MAX_TOKEN_LENGTH,
  MAX_MESSAGE_ID_LENGTH,
  MAX_TTL_MS,
  MAX_PUSH_RECIPIENTS,
  GROUP_NAME_PATTERN,
} from '@io-session/worker';

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
