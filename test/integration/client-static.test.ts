import { readFile } from 'node:fs/promises';
import { runInNewContext } from 'node:vm';
import Fastify from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerStatic } from '../../packages/server/src/http/static.js';
import { startWebNode, type WebNode } from '../browser/fixtures/web-node.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { dropPrefixAfterwards } from '../helpers/redis-client.js';

let node: WebNode;

beforeAll(async () => {
  const prefix = uniquePrefix('static');
  dropPrefixAfterwards(prefix);
  node = await startWebNode({ prefix });
});

const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${node.url}${path}`, { headers, signal: AbortSignal.timeout(10_000) });

describe('registerStatic: the SDK bundle and the dashboard, served by every node without a key', () => {
  it('serves the browser bundle at /io-session/client.js, revalidated by ETag', async () => {
    const res = await get('/io-session/client.js');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/javascript/);
    const code = await res.text();
    expect(code).toBe(
      await readFile(new URL('../../packages/client/dist/io-session.browser.js', import.meta.url), 'utf8'),
    );
    const etag = res.headers.get('etag')!;
    expect((await get('/io-session/client.js', { 'if-none-match': etag })).status).toBe(304);
    expect((await get('/io-session/client.js.map')).status).toBe(200);

    // A plain script: it defines `ioSession` with `connect` on the global object it runs in.
    const sandbox: { ioSession?: { connect?: unknown; clientDefaults?: unknown } } = {};
    runInNewContext(code, sandbox);
    expect(typeof sandbox.ioSession?.connect).toBe('function');
    expect(sandbox.ioSession?.clientDefaults).toMatchObject({ dedupeWindow: 1000 });
  });

  it('serves the dashboard page at /dashboard and /dashboard/, with a strict content security policy', async () => {
    for (const path of ['/dashboard', '/dashboard/']) {
      const res = await get(path);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
      const html = await res.text();
      expect(html).toContain('<base href="/dashboard/" />');
      expect(html).toContain('src="app.js"');
    }
    const script = await get('/dashboard/app.js');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await get('/dashboard/app.css')).headers.get('content-type')).toMatch(/^text\/css/);
  });

  it('serves nothing but the files of the dashboard folder', async () => {
    for (const path of [
      '/dashboard/types',
      '/dashboard/nope.js',
      '/dashboard/..%2Fpackage.json',
      '/dashboard/%2E%2E%2Fbuild.mjs',
      '/dashboard/../package.json',
    ]) {
      expect((await get(path)).status, path).toBe(404);
    }
  });

  it('answers 404 naming the build step when the files are not built', async () => {
    const app = Fastify();
    registerStatic(app, { clientFile: '/nonexistent/io-session.browser.js', dashboardDir: '/nonexistent' });
    const client = await app.inject({ method: 'GET', url: '/io-session/client.js' });
    expect(client.statusCode).toBe(404);
    expect(client.json()).toMatchObject({ error: { code: 'not_found' } });
    expect(client.body).toContain('npm run build');
    expect((await app.inject({ method: 'GET', url: '/dashboard' })).statusCode).toBe(404);
    await app.close();
  });
});
