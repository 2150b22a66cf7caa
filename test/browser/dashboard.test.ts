import { randomBytes } from 'node:crypto';
import { copyFile, mkdir } from 'node:fs/promises';
import { connect } from '@io-session/client';
import type { Browser } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { api, connectClient } from '../helpers/clients.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { REPO_ROOT } from '../helpers/node-process.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { dropPrefixAfterwards } from '../helpers/redis-client.js';
import { waitUntil } from '../helpers/wait.js';
import { launchBrowser, openPage } from './fixtures/browser.js';
import { testPages } from './fixtures/pages.js';
import { startWebNode, TEST_API_KEY, type WebNode } from './fixtures/web-node.js';

const SCREENSHOT = `${REPO_ROOT}test-results/dashboard.png`;
const DOCS_SCREENSHOT = `${REPO_ROOT}docs/dashboard.png`;

let browser: Browser;
let a: WebNode;
let b: WebNode;

beforeAll(async () => {
  const prefix = uniquePrefix('brdash');
  dropPrefixAfterwards(prefix);
  [a, b] = await Promise.all([
    startWebNode({ prefix, nodeId: 'node-a', routes: testPages }),
    startWebNode({ prefix, nodeId: 'node-b', routes: testPages }),
  ]);
  browser = await launchBrowser();
});

/** A few other clients on node b, SDK (v2) and legacy (v1), with some data: a cluster with something in it. */
async function populate(): Promise<void> {
  for (const [token, data] of [
    ['alice', { plan: 'pro', page: '/inbox' }],
    ['bob', { plan: 'free' }],
  ] as const) {
    const client = connect(b.url, { token, transports: ['websocket'] });
    deferCleanup(() => client.close());
    client.onPush(() => undefined);
    client.setData(data);
    await new Promise<void>((resolve) => client.once('connected', () => resolve()));
  }
  await connectClient(a.url, { token: 'legacy-android-7' });
}

/** Pushes to alice and bob every 200 ms until the test ends (at most 300 pushes): traffic for the chart. */
function traffic(): void {
  let stopped = false;
  deferCleanup(() => (stopped = true));
  void (async () => {
    for (let i = 0; i < 300 && !stopped; i++) {
      await a.handler.push({ token: i % 2 ? 'alice' : 'bob', data: { n: i } }).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
}

describe('the dashboard in chromium', () => {
  it('refuses a wrong key and says so', async () => {
    const { page } = await openPage(browser);
    await page.goto(`${a.url}/dashboard`);
    await page.fill('#api-key', 'not-the-key');
    await page.click('#login-form button[type=submit]');
    await page.locator('#login-error', { hasText: 'bearer key' }).waitFor();
    expect(await page.locator('#app').isHidden()).toBe(true);
  });

  it('lists the page session, pushes to it from its form and shows the receipt', async () => {
    await populate();
    traffic();
    const user = `browser-${randomBytes(4).toString('hex')}`;
    const client = await openPage(browser);
    await client.page.goto(`${b.url}/test/sdk-page.html?token=${user}`);
    await client.page.waitForFunction('window.events.some((e) => e.name === "connected")');

    const { page, errors } = await openPage(browser, { width: 1400, height: 1000 });
    await page.goto(`${a.url}/dashboard`);
    await page.fill('#api-key', TEST_API_KEY);
    await page.click('#login-form button[type=submit]');
    await page.locator('#app').waitFor();

    // Both nodes, with their heartbeats; the observer session connected through the SDK.
    await page.locator('#nodes tbody tr[data-node="node-a"]').waitFor();
    await page.locator('#nodes tbody tr[data-node="node-b"]').waitFor();
    await page.locator('#observer-status', { hasText: 'connected as dashboard-observer' }).waitFor();

    // The page's session, found by token prefix.
    await page.fill('#search', 'browser-');
    await page.click('#session-search button[type=submit]');
    const row = page.locator(`#sessions tr[data-token="${user}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain('@ node-b');

    // Push to it from the form; the receipt shows up.
    await row.locator('button', { hasText: 'Push' }).click();
    expect(await page.inputValue('#push-token')).toBe(user);
    await page.fill('#push-data', '{"from":"dashboard"}');
    await page.click('#push-submit');
    const pushed = page.locator('#my-pushes tbody tr').first();
    await pushed.locator('.status-delivered').waitFor();
    const id = (await pushed.getAttribute('data-id'))!;
    await client.page.waitForFunction(
      `window.received.some((m) => m.id === ${JSON.stringify(id)} && m.data.from === 'dashboard')`,
    );
    const status = await api<{ status: string }>(a.url, `/v1/messages/${id}`, { apiKey: TEST_API_KEY });
    expect(status.body.status).toBe('delivered');
    await page.locator(`#feed li[data-kind="receipt"][data-id="${id}"]`).waitFor();

    // A broadcast from the form reaches the dashboard's own SDK connection.
    await page.check('#push-broadcast');
    await page.fill('#push-data', '"maintenance at 22:00"');
    await page.click('#push-submit');
    await page.locator('#inbox li', { hasText: 'maintenance at 22:00' }).waitFor();

    // The whole list again, a chart with a few samples, and the picture.
    await page.fill('#search', '');
    await page.click('#session-search button[type=submit]');
    await page.locator('#sessions tr[data-token="alice"]').waitFor();
    await waitUntil(
      async () => {
        const points = await page.locator('#chart polyline.pushes').getAttribute('points', { timeout: 100 });
        return (points?.split(' ').length ?? 0) >= 4;
      },
      { timeout: 20_000, message: 'the chart has a few samples' },
    );
    await mkdir(`${REPO_ROOT}test-results`, { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    if (process.env.UPDATE_DOCS_SCREENSHOT) {
      await mkdir(`${REPO_ROOT}docs`, { recursive: true });
      await copyFile(SCREENSHOT, DOCS_SCREENSHOT);
    }
    // The search's exact lookup of "browser-" answers 404: expected, the only failed request allowed.
    expect(errors.filter((e) => !e.startsWith('404 ') || !e.endsWith('/v1/sessions/browser-'))).toEqual([]);
  });
});
