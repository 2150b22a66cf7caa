import { api, type ApiResponse } from './clients.js';
import { TEST_API_KEY } from './node-process.js';

/** A session as `GET /v1/sessions/:token` shows it (CONTRACT §7). */
export interface ApiSession {
  token: string;
  sid?: string;
  connections: { id: string; nodeId: string }[];
  data: unknown;
  status: string;
  graceUntil?: number;
}

export interface ApiSessionPage {
  sessions: ApiSession[];
  next: string | null;
}

/** `GET /v1/sessions/:token` with the test API key. */
export function getSession(baseUrl: string, token: string): Promise<ApiResponse<ApiSession>> {
  return api<ApiSession>(baseUrl, `/v1/sessions/${encodeURIComponent(token)}`, { apiKey: TEST_API_KEY });
}

/** Resolves with the session once the node shows it with `test` true (polls the API). */
export async function sessionWhere(
  baseUrl: string,
  token: string,
  test: (s: ApiSession) => boolean,
  timeout = 10_000,
): Promise<ApiSession> {
  const deadline = Date.now() + timeout;
  let last: ApiResponse<ApiSession> | undefined;
  for (;;) {
    last = await getSession(baseUrl, token);
    if (last.status === 200 && test(last.body)) return last.body;
    if (Date.now() > deadline)
      throw new Error(
        `session ${token} on ${baseUrl} never matched; last answer ${last.status} ${JSON.stringify(last.body)}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Resolves once the node answers 404 for the session (polls the API); returns when that was seen. */
export async function sessionGone(baseUrl: string, token: string, timeout = 15_000): Promise<number> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const res = await getSession(baseUrl, token);
    if (res.status === 404) return Date.now();
    if (Date.now() > deadline)
      throw new Error(
        `session ${token} still answers ${res.status} on ${baseUrl}: ${JSON.stringify(res.body)}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Pages through `GET /v1/sessions` to the end; returns every token in order and how many pages it took. */
export async function allSessionTokens(
  baseUrl: string,
  limit: number,
): Promise<{ tokens: string[]; pages: number }> {
  const tokens: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const query: string =
      cursor === null ? `?limit=${limit}` : `?limit=${limit}&cursor=${encodeURIComponent(cursor)}`;
    const res: ApiResponse<ApiSessionPage> = await api<ApiSessionPage>(baseUrl, `/v1/sessions${query}`, {
      apiKey: TEST_API_KEY,
      timeout: 30_000,
    });
    if (res.status !== 200)
      throw new Error(`GET /v1/sessions${query} answered ${res.status}: ${JSON.stringify(res.body)}`);
    tokens.push(...res.body.sessions.map((s) => s.token));
    cursor = res.body.next;
    pages += 1;
    if (pages > 100_000) throw new Error('GET /v1/sessions never ended');
  } while (cursor !== null);
  return { tokens, pages };
}
