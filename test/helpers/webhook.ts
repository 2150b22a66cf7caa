import { createServer, type IncomingHttpHeaders } from 'node:http';
import { freePort } from '@io-session/devtools';
import { deferCleanup } from './cleanup.js';
import { Recorder } from './clients.js';

/** One request the webhook received, recorded when its body has arrived (before it is answered). */
export interface WebhookRequest {
  /** 1-based, in order of arrival, over every path. */
  n: number;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The body parsed as JSON (the raw text when it is not JSON). */
  body: unknown;
  /** The body's bytes as received (what a webhook signature is checked on). */
  raw: Buffer;
  /** When the body had arrived (ms since epoch). */
  at: number;
  /** Resolves with the status once the request was answered; never, when the test held it. */
  answered: Promise<number>;
}

/** Decides the status of a request; may hold it by returning a Promise that settles later (or never). */
export type WebhookResponder = (request: WebhookRequest) => number | Promise<number>;

export interface TestWebhook {
  readonly base: string;
  /** Every request so far; `waitFor` / `waitForCount` wait for more. */
  readonly requests: Recorder<WebhookRequest>;
  /** The responder of the next requests; replace it to change the behaviour mid-test. */
  respond: WebhookResponder;
  url(path: string): string;
  /** Closes the server and drops the connections of held requests. */
  close(): Promise<void>;
}

/**
 * A local HTTP server on a free port standing in for an app's webhook: records every request and answers it
 * with what `respond` says (default 204). Closed after the test.
 */
export async function startWebhook(respond: WebhookResponder = () => 204): Promise<TestWebhook> {
  const port = await freePort();
  const requests = new Recorder<WebhookRequest>();
  let count = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const text = raw.toString();
      let body: unknown = text;
      try {
        body = JSON.parse(text) as unknown;
      } catch {
        // kept as text
      }
      let markAnswered: (status: number) => void = () => undefined;
      const request: WebhookRequest = {
        n: ++count,
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body,
        raw,
        at: Date.now(),
        answered: new Promise<number>((resolve) => (markAnswered = resolve)),
      };
      requests.push(request);
      void Promise.resolve(webhook.respond(request)).then((status) => {
        if (res.destroyed) return;
        res.writeHead(status).end();
        markAnswered(status);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${port}`;
  let closed: Promise<void> | undefined;
  const webhook: TestWebhook = {
    base,
    requests,
    respond,
    url: (path) => `${base}${path}`,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
  deferCleanup(() => webhook.close());
  return webhook;
}

/** A Promise and its resolve function, for holding a webhook answer (or a handler) until the test says so. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
