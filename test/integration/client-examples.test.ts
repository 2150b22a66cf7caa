import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { startWebNode, TEST_API_KEY, type WebNode } from '../browser/fixtures/web-node.js';
import { exitOf, OutputBuffer, trackChild } from '../helpers/child.js';
import { api, Recorder } from '../helpers/clients.js';
import { REPO_ROOT } from '../helpers/node-process.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { dropPrefixAfterwards } from '../helpers/redis-client.js';
import { sessionWhere } from '../helpers/sessions-api.js';
import { waitUntil } from '../helpers/wait.js';

const EXAMPLES = `${REPO_ROOT}packages/client/examples/`;

let node: WebNode;

beforeAll(async () => {
  const prefix = uniquePrefix('examples');
  dropPrefixAfterwards(prefix);
  node = await startWebNode({ prefix });
});

/** Runs an example with node; its stdout lines are recorded. */
function run(file: string, token: string) {
  const proc = spawn(process.execPath, [`${EXAMPLES}${file}`], {
    cwd: EXAMPLES,
    env: { PATH: process.env.PATH ?? '', IO_SESSION_URL: node.url, TOKEN: token },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trackChild(proc);
  const lines = new Recorder<string>();
  const stderr = new OutputBuffer();
  let partial = '';
  proc.stdout.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) lines.push(line);
  });
  proc.stderr.on('data', (chunk: Buffer) => stderr.append(chunk));
  return { proc, lines, stderr };
}

async function pushOverHttp(token: string, data: unknown): Promise<string> {
  const res = await api<{ id: string }>(node.url, '/v1/push', {
    method: 'POST',
    body: { token, data },
    apiKey: TEST_API_KEY,
  });
  expect(res.status).toBe(202);
  return res.body.id;
}

function delivered(id: string): Promise<unknown> {
  return waitUntil(
    async () =>
      (await api<{ status: string }>(node.url, `/v1/messages/${id}`, { apiKey: TEST_API_KEY })).body
        .status === 'delivered',
    { message: `${id} delivered` },
  );
}

function logout(token: string): Promise<unknown> {
  return api(node.url, `/v1/sessions/${token}`, { method: 'DELETE', apiKey: TEST_API_KEY });
}

describe('the examples of docs/clients.md', () => {
  it('are in the docs word for word', async () => {
    const docs = await readFile(`${REPO_ROOT}docs/clients.md`, 'utf8');
    for (const file of ['node.mjs', 'browser.html', 'legacy.mjs']) {
      expect(docs, `docs/clients.md shows examples/${file}`).toContain(
        await readFile(`${EXAMPLES}${file}`, 'utf8'),
      );
    }
  });

  it('node.mjs: connects with the SDK, handles and acknowledges a push, sets data, ends on logout', async () => {
    const { proc, lines, stderr } = run('node.mjs', 'example-node');
    await lines.waitFor(
      (l) => l.startsWith('connected '),
      10_000,
      `connected (stderr: ${stderr.toString()})`,
    );
    const session = await sessionWhere(node.url, 'example-node', (s) => s.data !== null);
    expect(session.data).toEqual({ platform: process.platform });

    const id = await pushOverHttp('example-node', { n: 1 });
    await lines.waitFor((l) => l === `push ${id} {"n":1}`);
    await delivered(id);

    await logout('example-node');
    await lines.waitFor((l) => l === 'logged out');
    expect(await exitOf(proc)).toBe(0);
  });

  it('legacy.mjs: the seed events (query token, receipt by data, client_data as JSON text)', async () => {
    const { proc, lines, stderr } = run('legacy.mjs', 'example-legacy');
    await lines.waitFor(
      (l) => l.startsWith('connected '),
      10_000,
      `connected (stderr: ${stderr.toString()})`,
    );
    const session = await sessionWhere(node.url, 'example-legacy', (s) => s.data !== null);
    expect(session.data).toEqual({ app: 'legacy' });
    expect(session.connections).toMatchObject([{ protocol: 1 }]);

    const id = await pushOverHttp('example-legacy', { text: 'hi' });
    await lines.waitFor((l) => l === 'push {"text":"hi"}');
    await delivered(id);

    await logout('example-legacy');
    await lines.waitFor((l) => l === 'logged out');
    expect(await exitOf(proc)).toBe(0);
  });
});
