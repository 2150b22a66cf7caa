import { z } from 'zod';
import { MAX_DEPTH, MAX_MESSAGE_ID_LENGTH, MAX_TOKEN_LENGTH } from '../limits.js';
import { checkJsonText, checkPayload } from './payload.js';
import { ClientEventError } from './session-error.js';

/**
 * Validation of every client → server event. Legacy (io-session-handler) clients send JSON strings,
 * newer ones objects; both are accepted. Nothing here trusts the client.
 */
const token = z.string().min(1).max(MAX_TOKEN_LENGTH);
const messageId = z.string().min(1).max(MAX_MESSAGE_ID_LENGTH);

export const clientDataSchema = z.object({ token, data: z.unknown() });
export const deliveryByIdSchema = z.object({ id: messageId, token: token.optional() });
/** v3: one receipt for several messages. */
export const deliveryByIdsSchema = z.object({
  ids: z.array(messageId).min(1).max(1000),
  token: token.optional(),
});
export const deliveryByDataSchema = z.object({ token, data: z.unknown() });

export type ClientData = z.infer<typeof clientDataSchema>;
export type Delivery =
  { kind: 'ids'; ids: string[]; token?: string | undefined } | { kind: 'data'; token: string; data: unknown };

/**
 * Checks an event payload as it came over the wire — a JSON string (legacy clients) or a value socket.io-parser
 * decoded — for size and depth, before anything else reads it. The `{ token, data }` envelope is one level, so
 * `data` may nest `MAX_DEPTH` levels as on every other path.
 */
function decode(raw: unknown, maxBytes: number): unknown {
  const limits = { maxBytes, maxDepth: MAX_DEPTH + 1 };
  const checked =
    typeof raw === 'string' ? checkJsonText(raw, limits, 'payload') : checkPayload(raw, limits, 'payload');
  if (checked.ok) return 'value' in checked ? checked.value : raw;
  if (checked.problem === 'too_large')
    throw new ClientEventError('payload_too_large', `event payload is larger than ${maxBytes} bytes`);
  if (checked.problem === 'too_deep')
    throw new ClientEventError('malformed', `data: nested deeper than ${MAX_DEPTH} levels (or circular)`);
  throw new ClientEventError('malformed', checked.message);
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : what;
    throw new ClientEventError('malformed', `${where}: ${issue?.message ?? 'invalid'}`);
  }
  return result.data;
}

/**
 * The names a connection may use for its own session in an event: the session token, and with JWT
 * authentication also the JWT it connected with (seed clients echo back what they connected with).
 */
export type OwnTokens = readonly string[];

/** Parses a `client_data` event and checks it names the connection's own token. */
export function parseClientData(raw: unknown, own: OwnTokens, maxBytes: number): ClientData {
  const value = parse(clientDataSchema, decode(raw, maxBytes), 'client_data');
  assertOwnToken(value.token, own);
  return value;
}

/** Parses a `push_message_delivery` receipt: `{ id }` (v2) or the seed's `{ token, data }`. */
export function parseDelivery(raw: unknown, own: OwnTokens, maxBytes: number): Delivery {
  const value = decode(raw, maxBytes);
  if (typeof value === 'object' && value !== null && 'ids' in value) {
    const byIds = parse(deliveryByIdsSchema, value, 'push_message_delivery');
    if (byIds.token !== undefined) assertOwnToken(byIds.token, own);
    return { kind: 'ids', ids: byIds.ids, token: byIds.token };
  }
  if (typeof value === 'object' && value !== null && 'id' in value) {
    const byId = parse(deliveryByIdSchema, value, 'push_message_delivery');
    if (byId.token !== undefined) assertOwnToken(byId.token, own);
    return { kind: 'ids', ids: [byId.id], token: byId.token };
  }
  const byData = parse(deliveryByDataSchema, value, 'push_message_delivery');
  assertOwnToken(byData.token, own);
  return { kind: 'data', token: byData.token, data: byData.data };
}

function assertOwnToken(claimed: string, own: OwnTokens): void {
  if (!own.includes(claimed)) {
    throw new ClientEventError('forbidden_token', "the token in the event is not this connection's token");
  }
}
