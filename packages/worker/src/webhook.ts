import { workerDefaults } from './defaults.js';
import { MIN_WEBHOOK_SECRET_LENGTH, signWebhook } from './webhook-signature.js';

export interface WebhookOptions {
  /** Where to POST. */
  url: string;
  /** How long one POST may take before it counts as failed. Default `workerDefaults.webhookTimeoutMs`. */
  timeoutMs?: number;
  /**
   * Signs every POST (CONTRACT.md §11): `x-io-session-timestamp` (ms since the epoch) and
   * `x-io-session-signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>`, checked by `verifyWebhook`.
   * At least 32 characters. Default: unsigned.
   */
  secret?: string;
}

/** A POST that did not end with a 2xx answer: the job that made it fails and is retried with backoff. */
export class WebhookError extends Error {
  constructor(
    readonly url: string,
    /** The HTTP status, when an answer came. */
    readonly status: number | undefined,
    options?: ErrorOptions,
  ) {
    super(
      status === undefined
        ? `POST ${redactUrl(url)} failed: ${errorText(options?.cause)}`
        : `POST ${redactUrl(url)} answered ${status}`,
      options,
    );
    this.name = 'WebhookError';
  }
}

/**
 * POSTs batches of items as one JSON array each (`content-type: application/json`), signed when a secret is
 * given (each attempt at its own time); resolves on a 2xx answer and rejects with a {@link WebhookError} on
 * anything else, a network error or a timeout.
 */
export class Webhook {
  readonly url: string;
  readonly #timeoutMs: number;
  readonly #secret: string | undefined;

  constructor(options: WebhookOptions) {
    this.url = options.url;
    this.#timeoutMs = options.timeoutMs ?? workerDefaults.webhookTimeoutMs;
    if (options.secret !== undefined && options.secret.length < MIN_WEBHOOK_SECRET_LENGTH)
      throw new RangeError(`a webhook secret must be at least ${MIN_WEBHOOK_SECRET_LENGTH} characters`);
    this.#secret = options.secret;
  }

  async post(items: readonly unknown[]): Promise<void> {
    const body = JSON.stringify(items);
    const signature = this.#secret === undefined ? {} : signWebhook({ secret: this.#secret, body });
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'io-session-worker', ...signature },
        body,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      throw new WebhookError(this.url, undefined, { cause: error });
    }
    // Read the answer to the end, so that the keep-alive connection can be used again.
    await res.arrayBuffer().catch(() => undefined);
    if (res.status < 200 || res.status > 299) throw new WebhookError(this.url, res.status);
  }
}

/** The URL without credentials, query or fragment: what logs may show. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}

function errorText(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  const inner = cause.cause instanceof Error ? `: ${cause.cause.message}` : '';
  return `${cause.message}${inner}`;
}
