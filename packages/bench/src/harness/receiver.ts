import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What `io-session worker` POSTs: JSON arrays of receipts (`{ id, token, … }`) or session events. */
interface Posted {
  token?: unknown;
  type?: unknown;
}

async function bodyOf(req: IncomingMessage): Promise<Posted[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  return Array.isArray(value) ? (value as Posted[]) : [];
}

/**
 * A tiny HTTP receiver in the bench process for the webhooks of `io-session worker`: `POST /receipts` counts
 * receipts (a message counts as delivered when its receipt got here), `POST /events` counts session events
 * by type and token group. Answers 204 at once; a body it cannot parse gets 400 (the worker retries it).
 */
export class WebhookReceiver {
  receipts = 0;
  readonly started = new Map<string, number>();
  readonly ended = new Map<string, number>();
  #server: Server | undefined;
  #port = 0;

  constructor(private readonly groupOf: (token: string) => string) {}

  get receiptsUrl(): string {
    return `http://127.0.0.1:${this.#port}/receipts`;
  }

  get eventsUrl(): string {
    return `http://127.0.0.1:${this.#port}/events`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      bodyOf(req).then(
        (items) => {
          if (req.url === '/receipts') this.receipts += items.length;
          else if (req.url === '/events') this.#events(items);
          res.writeHead(204).end();
        },
        () => res.writeHead(400).end(),
      );
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  #events(items: Posted[]): void {
    for (const event of items) {
      if (typeof event.token !== 'string') continue;
      const counts =
        event.type === 'session.started' ? this.started : event.type === 'session.ended' ? this.ended : null;
      if (!counts) continue;
      const group = this.groupOf(event.token);
      counts.set(group, (counts.get(group) ?? 0) + 1);
    }
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
