import type { Redis } from 'ioredis';
import { CHAOS_API_KEY, CHAOS_PREFIX, type NodeSlot } from '../cluster/node-slot.js';

/** A job of one queue, read straight from its hash: whatever state it is in, whoever consumed it. */
export interface QueueJob {
  id: string;
  data: unknown;
  returnvalue: unknown;
  /** Times BullMQ found it stalled (its worker died, or lost the reply that locked it) and ran it again. */
  stalled: number;
}

/** Every job of a BullMQ queue of the run (SCAN over `{chaos}:<queue>:<id>` hashes). */
export async function readQueueJobs(redis: Redis, queue: string): Promise<QueueJob[]> {
  const base = `{${CHAOS_PREFIX}}:${queue}:`;
  const jobs: QueueJob[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${base}*`, 'COUNT', 1000);
    cursor = next;
    const jobKeys = keys.filter((k) => !k.slice(base.length).includes(':'));
    const types = await Promise.all(jobKeys.map((k) => redis.type(k)));
    const hashes = jobKeys.filter((_, i) => types[i] === 'hash');
    const fields = await Promise.all(hashes.map((k) => redis.hmget(k, 'data', 'returnvalue', 'stc')));
    hashes.forEach((key, i) => {
      const [data, returnvalue, stalled] = fields[i] ?? [];
      if (!data) return;
      const id = key.slice(base.length);
      jobs.push({
        id,
        data: parse(data),
        returnvalue: parse(returnvalue ?? null),
        stalled: Number(stalled ?? 0),
      });
    });
  } while (cursor !== '0');
  return jobs;
}

function parse(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

async function api<T>(slot: NodeSlot, path: string): Promise<{ status: number; body: T | null }> {
  const res = await fetch(`${slot.url}${path}`, {
    headers: { authorization: `Bearer ${CHAOS_API_KEY}` },
    signal: AbortSignal.timeout(5_000),
  });
  return { status: res.status, body: res.status === 200 ? ((await res.json()) as T) : null };
}

/** A session as `GET /v1/sessions` lists it. */
export interface ListedSession {
  token: string;
  connections: { id: string; nodeId: string }[];
}

/** Every session the cluster lists now (all pages). */
export async function listSessions(slot: NodeSlot): Promise<ListedSession[]> {
  const sessions: ListedSession[] = [];
  let cursor = '';
  do {
    const page = await api<{ sessions: ListedSession[]; next: string | null }>(
      slot,
      `/v1/sessions?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    if (!page.body) throw new Error(`GET /v1/sessions answered ${page.status}`);
    sessions.push(...page.body.sessions);
    cursor = page.body.next ?? '';
  } while (cursor);
  return sessions;
}

export type MessageStatus = 'pending' | 'delivered' | 'expired' | 'unknown';

/** `GET /v1/messages/:id` of every push, a few at a time; `unknown` for a 404. */
export async function readStatuses(
  slot: NodeSlot,
  pushes: readonly { id: string; token: string }[],
): Promise<Map<string, MessageStatus>> {
  const out = new Map<string, MessageStatus>();
  const queue = [...pushes];
  const one = async (): Promise<void> => {
    for (let push = queue.shift(); push; push = queue.shift()) {
      const path = `/v1/messages/${encodeURIComponent(push.id)}?token=${encodeURIComponent(push.token)}`;
      const res = await api<{ status: MessageStatus }>(slot, path);
      if (res.status !== 200 && res.status !== 404) throw new Error(`GET ${path} answered ${res.status}`);
      out.set(push.id, res.body?.status ?? 'unknown');
    }
  };
  await Promise.all(Array.from({ length: 16 }, one));
  return out;
}
