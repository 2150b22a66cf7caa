import { randomBytes } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { api } from '../helpers/clients.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { dropPrefixAfterwards } from '../helpers/redis-client.js';
import { waitUntil } from '../helpers/wait.js';
import { launchBrowser, openPage } from './fixtures/browser.js';
import { testPages } from './fixtures/pages.js';
import { startWebNode, TEST_API_KEY, type WebNode } from './fixtures/web-node.js';

let browser: Browser;
let node: WebNode;

beforeAll(async () => {
  const prefix = uniquePrefix('brsdk');
  dropPrefixAfterwards(prefix);
  node = await startWebNode({ prefix, routes: testPages });
  browser = await launchBrowser();
});

const token = (label: string): string => `${label}-${randomBytes(4).toString('hex')}`;

async function pushOverHttp(to: string, data: unknown): Promise<string> {
  const res = await api<{ id: string; accepted: boolean }>(node.url, '/v1/push', {
    method: 'POST',
    body: { token: to, data },
    apiKey: TEST_API_KEY,
  });
  expect(res.status).toBe(202);
  return res.body.id;
}

async function statusOf(id: string): Promise<string | undefined> {
  const res = await api<{ status: string }>(node.url, `/v1/messages/${encodeURIComponent(id)}`, {
    apiKey: TEST_API_KEY,
  });
  return res.status === 200 ? res.body.status : undefined;
}

describe('the SDK in chromium, loaded from the node', () => {
  it('the docs example page connects, receives a push made over HTTP and acknowledges it', async () => {
    const { page, errors } = await openPage(browser);
    const user = token('browser');
    await page.goto(`${node.url}/examples/browser.html?token=${user}`);
    await page.locator('#status', { hasText: 'connected' }).waitFor();

    const id = await pushOverHttp(user, { text: 'hello from HTTP' });
    const item = page.locator(`#pushes li[data-id="${id}"]`);
    await item.waitFor();
    expect(await item.textContent()).toBe('{"text":"hello from HTTP"}');
    await waitUntil(async () => (await statusOf(id)) === 'delivered', { message: `${id} delivered` });

    const session = await api<{ connections: { protocol: number }[] }>(node.url, `/v1/sessions/${user}`, {
      apiKey: TEST_API_KEY,
    });
    expect(session.body.connections.map((c) => c.protocol)).toEqual([3]); // the SDK speaks v3 by default
    expect(errors).toEqual([]);
  });

  it('a page whose handler throws gets the message again after reconnecting', async () => {
    const { page } = await openPage(browser);
    const user = token('thrower');
    await page.goto(`${node.url}/test/sdk-page.html?token=${user}&fail=first`);
    await page.waitForFunction('window.events.some((e) => e.name === "connected")');

    const id = await pushOverHttp(user, 'try twice');
    await page.waitForFunction(`window.received.some((m) => m.id === ${JSON.stringify(id)})`);
    await page.waitForFunction('window.events.some((e) => e.name === "error" && e.code === "handler_error")');
    expect(await statusOf(id)).toBe('pending');

    // The connection drops under the page (the node closes its transport, as on a network failure).
    const sockets = node.socketsOf(user);
    expect(sockets).toHaveLength(1);
    sockets[0]!.conn.close();

    await page.waitForFunction(`window.received.filter((m) => m.id === ${JSON.stringify(id)}).length === 2`);
    await waitUntil(async () => (await statusOf(id)) === 'delivered', { message: `${id} delivered` });
    const events = (await page.evaluate('window.events.map((e) => e.name)')) as string[];
    expect(events.filter((e) => e === 'connected')).toHaveLength(2);
  });
});
