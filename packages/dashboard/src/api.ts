import { parseMetrics } from './metrics.js';

/** A session as `GET /v1/sessions` shows it (CONTRACT §7). */
export interface Session {
  token: string;
  sid?: string;
  connections: { id: string; nodeId: string; protocol?: number }[];
  data: unknown;
  status: string;
  graceUntil?: number;
}

export interface SessionPage {
  sessions: Session[];
  next: string | null;
}

/** `GET /v1/nodes`: the live nodes with their last heartbeat report. */
export interface NodeInfo {
  instance: string;
  nodeId: string;
  heartbeatAt: number;
  expiresAt: number;
  info: {
    connections?: number;
    sessions?: number;
    ready?: boolean;
    draining?: boolean;
    startedAt?: number;
    [key: string]: unknown;
  };
}

/** Cluster-wide counters: `GET /v1/stats`, or the same read from `GET /metrics`. */
export interface Stats {
  at: number;
  sessions: number | undefined;
  nodes: number | undefined;
  messages: { pushed: number; delivered: number; expired: number; pending: number };
}

/** `GET /v1/feed`: relayed receipts and session events, newest first. */
export type FeedItem =
  | {
      type: 'receipt';
      id: string;
      token: string;
      data?: unknown;
      deliveredAt: number;
      nodeId: string;
      socketId?: string;
    }
  | {
      type: 'session.started' | 'session.ended';
      token: string;
      id: string;
      sid?: string;
      status: 0 | 1;
      at: number;
      reason?: string;
    };

export interface MessageInfo {
  id: string;
  token: string;
  status: 'pending' | 'delivered' | 'expired';
  deliveredAt?: number;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The node's HTTP API, with the bearer key. Every call rejects with an {@link ApiError} on a non-2xx answer. */
export class Api {
  constructor(readonly key: string) {}

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(path, {
        method,
        headers: {
          authorization: `Bearer ${this.key}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        cache: 'no-store',
      });
    } catch (err) {
      throw new ApiError(0, 'unreachable', `the node does not answer (${String(err)})`);
    }
    const text = await res.text();
    const parsed = text && (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text;
    if (!res.ok) {
      const error = (parsed as { error?: { code?: string; message?: string } })?.error;
      throw new ApiError(
        res.status,
        error?.code ?? 'http_error',
        error?.message ?? `${method} ${path}: ${res.status}`,
      );
    }
    return parsed as T;
  }

  /** `GET /healthz` (no key needed): which node answers. */
  health(): Promise<{ status: string; nodeId: string }> {
    return this.#call('GET', '/healthz');
  }

  /** Cluster counters from `GET /v1/stats`; from `GET /metrics` where a node has no such route. */
  async stats(): Promise<Stats> {
    try {
      return await this.#call<Stats>('GET', '/v1/stats');
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 404) throw err;
    }
    const m = parseMetrics(await this.#call<string>('GET', '/metrics'));
    return {
      at: Date.now(),
      sessions: m.get('ios_sessions_cluster'),
      nodes: undefined,
      messages: {
        pushed: m.get('ios_messages_pushed') ?? 0,
        delivered: m.get('ios_messages_delivered') ?? 0,
        expired: m.get('ios_messages_expired') ?? 0,
        pending: m.get('ios_pending_messages') ?? 0,
      },
    };
  }

  /** The live nodes, or null when the node has no `GET /v1/nodes`. */
  async nodes(): Promise<NodeInfo[] | null> {
    return this.#optional(async () => (await this.#call<{ nodes: NodeInfo[] }>('GET', '/v1/nodes')).nodes);
  }

  /** The latest receipts and session events, or null when the node has no `GET /v1/feed`. */
  async feed(limit = 30): Promise<FeedItem[] | null> {
    return this.#optional(
      async () => (await this.#call<{ items: FeedItem[] }>('GET', `/v1/feed?limit=${limit}`)).items,
    );
  }

  sessions(cursor: string | null, limit: number): Promise<SessionPage> {
    const query = new URLSearchParams({ limit: String(limit) });
    if (cursor !== null) query.set('cursor', cursor);
    return this.#call('GET', `/v1/sessions?${query.toString()}`);
  }

  /** One session, or null. */
  session(token: string): Promise<Session | null> {
    return this.#optional(() => this.#call<Session>('GET', `/v1/sessions/${encodeURIComponent(token)}`));
  }

  logout(token: string): Promise<unknown> {
    return this.#call('DELETE', `/v1/sessions/${encodeURIComponent(token)}`);
  }

  push(input: { token: string; data: unknown; ttlMs?: number }): Promise<{ id: string; accepted: boolean }> {
    return this.#call('POST', '/v1/push', input);
  }

  broadcast(data: unknown): Promise<unknown> {
    return this.#call('POST', '/v1/broadcast', { data });
  }

  /** A message's status, or null once it is unknown (its status retention passed). */
  message(id: string): Promise<MessageInfo | null> {
    return this.#optional(() => this.#call<MessageInfo>('GET', `/v1/messages/${encodeURIComponent(id)}`));
  }

  async #optional<T>(call: () => Promise<T>): Promise<T | null> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return null;
      throw err;
    }
  }
}
