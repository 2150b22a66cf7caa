import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header with the time of signing, in ms since the epoch (CONTRACT.md §11). */
export const WEBHOOK_TIMESTAMP_HEADER = 'x-io-session-timestamp';
/** Header with the signature: `v1=<hex HMAC-SHA256(secret, timestamp + "." + rawBody)>` (CONTRACT.md §11). */
export const WEBHOOK_SIGNATURE_HEADER = 'x-io-session-signature';
/** Shortest `WEBHOOK_SECRET` accepted: 32 characters. */
export const MIN_WEBHOOK_SECRET_LENGTH = 32;
/** How far a signature's timestamp may be from the receiver's clock, either way, by default: 5 minutes. */
export const WEBHOOK_TOLERANCE_MS = 300_000;

/** The HMAC-SHA256 of `<timestamp>.<body>`: the string that is signed. */
function hmac(secret: string, timestamp: string, body: string | Uint8Array): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest();
}

/** The two headers of a signed POST of `body` at `timestamp` (default now). */
export function signWebhook(input: {
  secret: string;
  body: string | Uint8Array;
  timestamp?: number;
}): Record<typeof WEBHOOK_TIMESTAMP_HEADER | typeof WEBHOOK_SIGNATURE_HEADER, string> {
  const timestamp = String(input.timestamp ?? Date.now());
  return {
    [WEBHOOK_TIMESTAMP_HEADER]: timestamp,
    [WEBHOOK_SIGNATURE_HEADER]: `v1=${hmac(input.secret, timestamp, input.body).toString('hex')}`,
  };
}

/** Request headers as Node (`req.headers`), Fetch (`Headers`) or a framework gives them. */
export type WebhookHeaders =
  Headers | Readonly<Record<string, string | readonly string[] | number | undefined | null>>;

export interface VerifyWebhookInput {
  /** The `WEBHOOK_SECRET` the worker signs with. */
  secret: string;
  /**
   * The raw body exactly as received (the bytes, or their UTF-8 text), not JSON parsed and serialised again:
   * another serialisation of the same JSON has another signature.
   */
  body: string | Uint8Array;
  /** The request's headers; any letter case. */
  headers: WebhookHeaders;
  /** How far the timestamp may be from `now`, either way, in ms. Default 300000 (5 minutes). */
  toleranceMs?: number;
  /** The receiver's clock, in ms since the epoch. Default `Date.now()`. */
  now?: number;
}

/** One header's value, whatever the letter case or the container; undefined when absent or repeated. */
function headerOf(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof Headers !== 'undefined' && headers instanceof Headers) return headers.get(name) ?? undefined;
  if (typeof headers !== 'object' || headers === null) return undefined;
  const values = Object.entries(headers)
    .filter(([key]) => key.toLowerCase() === name)
    .flatMap(([, value]) => (Array.isArray(value) ? value : [value]))
    .filter((value) => value !== undefined && value !== null);
  return values.length === 1 ? String(values[0]) : undefined;
}

/**
 * Checks a webhook POST of `io-session worker` (CONTRACT.md §11): true only when the signature header holds
 * `v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>` for this secret and body, and the timestamp header is
 * within `toleranceMs` of `now`, in either direction. Compares in constant time; never throws (junk is false).
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { verifyWebhook } from '@io-session/worker';
 * createServer((req, res) => {
 *   const chunks: Buffer[] = [];
 *   req.on('data', (c: Buffer) => chunks.push(c));
 *   req.on('end', () => {
 *     const body = Buffer.concat(chunks); // the raw bytes: verify before JSON.parse
 *     if (!verifyWebhook({ secret: process.env.WEBHOOK_SECRET!, body, headers: req.headers }))
 *       return res.writeHead(401).end();
 *     const receipts = JSON.parse(body.toString());
 *     res.writeHead(204).end();
 *   });
 * }).listen(8080);
 * ```
 */
export function verifyWebhook(input: VerifyWebhookInput): boolean {
  try {
    const { secret, body, headers } = input;
    const tolerance = input.toleranceMs ?? WEBHOOK_TOLERANCE_MS;
    const now = input.now ?? Date.now();
    if (typeof secret !== 'string' || secret === '') return false;
    if (typeof body !== 'string' && !(body instanceof Uint8Array)) return false;
    if (!Number.isFinite(tolerance) || tolerance < 0 || !Number.isFinite(now)) return false;
    const timestamp = headerOf(headers, WEBHOOK_TIMESTAMP_HEADER)?.trim();
    const signature = headerOf(headers, WEBHOOK_SIGNATURE_HEADER);
    if (timestamp === undefined || signature === undefined || !/^\d{1,16}$/.test(timestamp)) return false;
    if (Math.abs(now - Number(timestamp)) > tolerance) return false;
    const provided = /^v1=([0-9a-fA-F]{64})$/.exec(signature.trim())?.[1];
    if (provided === undefined) return false;
    return timingSafeEqual(hmac(secret, timestamp, body), Buffer.from(provided, 'hex'));
  } catch {
    return false;
  }
}
