import { describe, expect, it } from 'vitest';
import { startInProcessNode } from '../helpers/in-process-node.js';
import { startNode } from '../helpers/node-process.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { startRedis } from '../helpers/redis-server.js';
import { allSessionTokens } from '../helpers/sessions-api.js';
import { openStore } from '../helpers/store.js';

const COUNT = 10_000;
const BUCKETS = 64;

function usedMemory(info: string): number {
  const match = /^used_memory:(\d+)/m.exec(info);
  if (!match) throw new Error(`no used_memory in INFO memory: ${info.slice(0, 200)}`);
  return Number(match[1]);
}

function expectEachOnce(seen: string[], tokens: string[]): void {
  expect(seen.length).toBe(tokens.length);
  expect(new Set(seen).size).toBe(tokens.length);
  expect([...seen].sort()).toEqual([...tokens].sort());
}

describe(`${COUNT} sessions`, () => {
  it('are paged through exactly once by getSessions and GET /v1/sessions; Redis memory per idle session is measured', async () => {
    // A private Redis, so that no other test moves the memory figure.
    const redis = await startRedis();
    const prefix = uniquePrefix('tenk');
    const node = await startNode({ redisUrl: redis.url, prefix, env: { BUCKETS: String(BUCKETS) } });
    const { store, redis: client } = openStore({ url: redis.url, prefix, buckets: BUCKETS });

    const tokens = Array.from({ length: COUNT }, (_, i) => `user-${i.toString(36)}-${(i * 7919) % 1000}`);
    const instance = 'memnode~0a1b2c3d';
    await client.call('MEMORY', 'PURGE');
    const before = usedMemory(await client.info('memory'));

    const started = Date.now();
    for (let i = 0; i < COUNT; i += 1000) {
      const batch = tokens.slice(i, i + 1000);
      // what a node does per connection (connect.lua also writes the node index and the route entry)
      const results = await Promise.all(
        batch.map((token, j) =>
          store.sessions.connect({
            token,
            socketId: `sock${(i + j).toString(36)}AAAAAAAAAAAAA`,
            instance,
            protocol: 1,
          }),
        ),
      );
      expect(results.every((r) => r.started)).toBe(true);
    }
    const createMs = Date.now() - started;
    // the session.started events wait in the bucket outboxes until a node relays them; idle sessions have none
    const outboxes = Array.from({ length: BUCKETS }, (_, b) => store.keys.bucket(b).outbox);
    const outboxBytes = (
      await Promise.all(outboxes.map((key) => client.call('MEMORY', 'USAGE', key) as Promise<number | null>))
    ).reduce<number>((sum, n) => sum + (n ?? 0), 0);
    await client.del(...outboxes);
    await client.call('MEMORY', 'PURGE');
    const after = usedMemory(await client.info('memory'));
    const perSession = (after - before) / COUNT;
    const sample = store.keys.session(tokens[0]!).session;
    const hashBytes = Number(await client.call('MEMORY', 'USAGE', sample));
    console.log(
      `[memory] ${COUNT} idle sessions (1 connection each, ${BUCKETS} buckets): used_memory +${after - before} bytes = ` +
        `${perSession.toFixed(0)} bytes per session (session hash ≈ ${hashBytes} bytes by MEMORY USAGE; ` +
        `outbox events not yet relayed added ${(outboxBytes / COUNT).toFixed(0)} bytes per session); created in ${createMs} ms`,
    );
    expect(perSession).toBeGreaterThan(50);
    expect(perSession).toBeLessThan(2000);
    expect(await store.reads.countSessions()).toBe(COUNT);

    // getSessions in-process, on a handler of the same cluster
    const inProcess = await startInProcessNode({
      redis: redis.url,
      prefix,
      buckets: BUCKETS,
      consumePushQueue: false,
    });
    for (const limit of [1000, 333]) {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: { sessions: { token: string }[]; next: string | null } =
          await inProcess.handler.getSessions({
            cursor,
            limit,
          });
        expect(page.sessions.length).toBeLessThanOrEqual(limit);
        seen.push(...page.sessions.map((s) => s.token));
        cursor = page.next;
        pages += 1;
      } while (cursor !== null);
      expectEachOnce(seen, tokens);
      expect(pages).toBeGreaterThanOrEqual(Math.ceil(COUNT / limit));
    }

    // GET /v1/sessions on the node process
    for (const limit of [1000, 250]) {
      const { tokens: seen, pages } = await allSessionTokens(node.url, limit);
      expectEachOnce(seen, tokens);
      expect(pages).toBeGreaterThanOrEqual(Math.ceil(COUNT / limit));
    }
  });
});
