import { z } from 'zod';
import { MAX_MESSAGE_ID_LENGTH, MAX_TOKEN_LENGTH } from '../limits.js';
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

/** Size of an event payload as it came over the wire (JSON text), bounded work for huge inputs. */
export function payloadBytes(raw: unknown): number {
  if (typeof raw === 'string') return Buffer.byteLength(raw);
  if (raw === undefined) return 0;
  try {
    return Buffer.byteLength(JSON.stringify(raw) ?? '');
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

function decode(raw: unknown, maxBytes: number): unknown {
  if (payloadBytes(raw) > maxBytes) {
    throw new ClientEventError('payload_too_large', `event payload is larger than ${maxBytes} bytes`);
  }
  if (typeof raw !== 'string') return raw;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new ClientEventError('malformed', 'payload is not valid JSON');
  }
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

/** Parses a `client_data` event and checks it names the connection's own token. */
/**
 * The names a connection may use for its own session in an event: the session token, and with JWT
 * authentication also the JWT it connected with (seed clients echo back what they connected with).
 */
export type OwnTokens = readonly string[];

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
