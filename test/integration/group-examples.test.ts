/**
 * examples/group-push.mjs (README "Groups and pushes to several sessions"), run as an app would run it, against a
 * real `io-session node` process: both members get the group push and the push to each, once, with the ids the
 * README describes, and the receipts of the group push carry the group.
 */
import { spawn } from 'node:child_process';
import { memberMessageId, recipientMessageId } from '@io-session/store';
import { describe, expect, it } from 'vitest';
import { exitOf, OutputBuffer, trackChild } from '../helpers/child.js';
import { DeliveryClient, receiptsInQueue } from '../helpers/delivery.js';
import { REPO_ROOT, startNode, TEST_API_KEY } from '../helpers/node-process.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { dropPrefixAfterwards, redisClient, SHARED_REDIS_URL } from '../helpers/redis-client.js';
import { waitUntil } from '../helpers/wait.js';

describe('the group example', () => {
  it('group-push.mjs: joins, lists, pushes to the group and to each token over HTTP', async () => {
    const prefix = uniquePrefix('gexample');
    dropPrefixAfterwards(prefix);
    const node = await startNode({ redisUrl: SHARED_REDIS_URL, prefix });
    const members = [
      new DeliveryClient({ token: 'ex-1', v2: true }),
      new DeliveryClient({ token: 'ex-2', v2: true }),
    ];
    for (const m of members) await m.connect(node.url);

    const proc = spawn(process.execPath, [`${REPO_ROOT}examples/group-push.mjs`], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        IO_SESSION_URL: node.url,
        API_KEY: TEST_API_KEY,
        TOKENS: 'ex-1,ex-2',
        GROUP: 'zone:5',
        MESSAGE_ID: 'ex',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    trackChild(proc);
    const output = new OutputBuffer();
    proc.stdout.on('data', (c: Buffer) => output.append(c));
    proc.stderr.on('data', (c: Buffer) => output.append(c));
    expect(await exitOf(proc), output.toString()).toBe(0);
    expect(output.toString()).toContain('POST /v1/groups/zone:5/push 202 {"id":"ex","recipients":2}');
    expect(output.toString()).toContain('"tokens":["ex-1","ex-2"]');

    for (const m of members) {
      const got = await m.waitForCount(2);
      expect(got.map((d) => d.id).sort()).toEqual(
        [memberMessageId('ex', m.token, 'zone:5'), recipientMessageId('ex-each', m.token)].sort(),
      );
    }
    const receipts = await waitUntil(async () => {
      const all = await receiptsInQueue(redisClient(), prefix);
      return all.length >= 4 && all;
    });
    expect(receipts.filter((r) => r.receipt.group === 'zone:5')).toHaveLength(2);
  });
});
