/**
 * A group push during a rolling deploy (CONTRACT §10 with §5): three node processes behind HAProxy, every client a
 * member of one group (half legacy, half v2), group pushes made steadily through HAProxy — a call that fails is
 * retried with the same id, as an app would — while every node is replaced in turn with SIGTERM. Asserts: every
 * member got every accepted group push, and each member's message has exactly one receipt job (counted at the
 * source, the `receipts` queue), so nothing was created twice by the retries or the re-sends.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from '@io-session/devtools';
import { memberMessageId } from '@io-session/store';
import { describe, expect, it } from 'vitest';
import { api } from '../helpers/clients.js';
import { notOnce, receiptJobsPerId } from '../helpers/delivery.js';
import { BalancedClient, haproxyRequired, startHaproxy } from '../helpers/haproxy.js';
import { startNode, TEST_API_KEY, type NodeProcess } from '../helpers/node-process.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { connectRedis } from '../helpers/redis-client.js';
import { startRedis } from '../helpers/redis-server.js';
import { waitUntil, withTimeout } from '../helpers/wait.js';

const CLIENTS = 60;
const GROUP = 'everyone';
const NODE_ENV = {
  SESSION_TIMEOUT_MS: '5000',
  DRAIN_MS: '1000',
  HEARTBEAT_MS: '250',
  HEARTBEAT_TTL_MS: '2000',
  SWEEP_INTERVAL_MS: '200',
  LOG_LEVEL: 'warn',
};

/** `POST /v1/groups/:group/push` through `url`, retried with the same id until it is answered 202. */
async function groupPush(url: string, seq: number): Promise<{ recipients: number; attempts: number }> {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await api<{ recipients: number }>(url, `/v1/groups/${GROUP}/push`, {
        method: 'POST',
        apiKey: TEST_API_KEY,
        body: { data: { seq }, id: `gp-${seq}` },
      });
      if (res.status === 202) return { recipients: res.body.recipients, attempts: attempt };
    } catch {
      // a connection cut by the deploy: try again, with the same id
    }
    if (attempt >= 10) throw new Error(`group push ${seq} was not accepted in 10 attempts`);
    await delay(100);
  }
}

describe.skipIf(!haproxyRequired())('a group push during a rolling deploy', () => {
  it('reaches every member once: every push received, one receipt job per member and push', async () => {
    const redis = await startRedis();
    const prefix = uniquePrefix('groll');
    const names = ['node1', 'node2', 'node3'];
    const ports = [await freePort(), await freePort(), await freePort()];
    const launch = (i: number, generation: number): Promise<NodeProcess> =>
      startNode({
        redisUrl: redis.url,
        prefix,
        port: ports[i]!,
        nodeId: `${names[i]!}-g${generation}`,
        env: NODE_ENV,
      });
    const nodes = await Promise.all(names.map((_, i) => launch(i, 1)));
    const lb = await startHaproxy({ servers: names.map((name, i) => ({ name, port: ports[i]! })) });
    await Promise.all(names.map((name) => lb.waitFor(name, 'UP')));

    const clients = Array.from(
      { length: CLIENTS },
      (_, i) => new BalancedClient({ url: lb.url, token: `gr-${i}`, v2: i % 2 === 1 }),
    );
    await Promise.all(clients.map((c) => c.firstConnect()));
    for (const c of clients) {
      const res = await api(lb.url, `/v1/sessions/${c.token}/groups/${GROUP}`, {
        method: 'PUT',
        apiKey: TEST_API_KEY,
      });
      expect(res.status).toBe(204);
    }

    const accepted: number[] = [];
    const short: string[] = [];
    let seq = 0;
    let pushing = true;
    let retried = 0;
    const pushLoop = async (): Promise<void> => {
      while (pushing) {
        const n = ++seq;
        const { recipients, attempts } = await groupPush(lb.url, n);
        retried += attempts - 1;
        accepted.push(n);
        if (recipients !== CLIENTS) short.push(`#${n}: ${recipients} recipients`);
        await delay(20);
      }
    };
    const pushers = [pushLoop(), pushLoop()];
    await waitUntil(() => accepted.length >= 10, { timeout: 10_000, message: 'the first group pushes' });

    for (let i = 0; i < nodes.length; i++) {
      const code = await withTimeout(nodes[i]!.stop('SIGTERM'), 10_000, `${nodes[i]!.nodeId} to exit`);
      expect(code).toBe(0);
      nodes[i] = await launch(i, 2);
      await lb.waitFor(names[i]!, 'UP');
    }
    const before = seq;
    await waitUntil(() => seq >= before + 10, { timeout: 10_000, message: 'group pushes after the roll' });
    pushing = false;
    await Promise.all(pushers);

    const missing = (): string[] =>
      clients.flatMap((c) => accepted.filter((n) => !c.received.has(n)).map((n) => `${c.token} #${n}`));
    await waitUntil(() => missing().length === 0, {
      timeout: 30_000,
      message: 'every member got every push',
    }).catch((err: unknown) => {
      throw new Error(
        `${(err as Error).message}; ${missing().length} missing, e.g. ${missing().slice(0, 5).join(', ')}`,
      );
    });
    const ids = clients.flatMap((c) => accepted.map((n) => memberMessageId(`gp-${n}`, c.token, GROUP)));
    for (const c of clients.filter((x) => x.v2))
      for (const n of accepted) expect(c.ids.get(n)).toBe(memberMessageId(`gp-${n}`, c.token, GROUP));
    const client = connectRedis(redis.url, { lazyConnect: false });
    try {
      const perId = await waitUntil(
        async () => {
          const counted = await receiptJobsPerId(client, prefix, 20_000);
          return notOnce(counted, ids).length === 0 && counted;
        },
        { timeout: 30_000, message: 'one receipt job per member and push' },
      ).catch(async () => receiptJobsPerId(client, prefix));
      const wrong = notOnce(perId, ids);
      console.log(
        `group push during a rolling deploy: ${CLIENTS} members, ${accepted.length} group pushes accepted ` +
          `(${retried} retried calls), ${ids.length} member messages, ${wrong.length} not received exactly once`,
      );
      expect(wrong.slice(0, 5)).toEqual([]);
      expect(short).toEqual([]);
    } finally {
      client.disconnect();
    }
  }, 180_000);
});
