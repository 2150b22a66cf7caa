import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { handlerDefaults } from '../defaults.js';

/** Options of {@link registerStatic}. Every field is optional; defaults are in `handlerDefaults`. */
export interface StaticOptions {
  /** Where the SDK's browser bundle is served (as Socket.IO serves `/socket.io/socket.io.js`). Default `handlerDefaults.clientPath`. */
  clientPath?: string;
  /** The built browser bundle. Default: `dist/io-session.browser.js` of the installed `@io-session/client`. */
  clientFile?: string;
  /** Where the dashboard is mounted; its assets live under `<dashboardPath>/`. Default `handlerDefaults.dashboardPath`. */
  dashboardPath?: string;
  /** The dashboard's built assets (a flat folder with `index.html`). Default: `dist/` of `@io-session/dashboard`. */
  dashboardDir?: string;
  /** Serve the dashboard at all. Default `handlerDefaults.dashboard`. */
  dashboard?: boolean;
}

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/**
 * The dashboard loads nothing from the network but its own node: scripts and styles from here, API calls and
 * the SDK's Socket.IO connection to the same origin.
 */
const dashboardPolicy =
  "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; " +
  "script-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'";

const require = createRequire(import.meta.url);

/** The folder of an installed workspace package, or undefined when it is not installed. */
function packageDir(name: string): string | undefined {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    return undefined;
  }
}

function asset(body: Buffer, file: string): Asset {
  return {
    body,
    type: contentTypes[extname(file)] ?? 'application/octet-stream',
    etag: `"${createHash('sha1').update(body).digest('base64url')}"`,
  };
}

function send(req: FastifyRequest, reply: FastifyReply, found: Asset, headers: Record<string, string> = {}) {
  void reply
    .header('content-type', found.type)
    .header('etag', found.etag)
    // Revalidate every time: a node upgraded in a rolling deploy must not serve a stale SDK for hours.
    .header('cache-control', 'no-cache')
    .header('x-content-type-options', 'nosniff')
    .headers(headers);
  if (req.headers['if-none-match'] === found.etag) return reply.code(304).send();
  return reply.send(found.body);
}

function notBuilt(reply: FastifyReply, what: string, path: string): FastifyReply {
  return reply.code(404).send({
    error: { code: 'not_found', message: `${what} is not built (expected ${path}); run npm run build` },
  });
}

/**
 * Serves the static files of a node: the SDK's browser bundle at `clientPath`, and the web dashboard at
 * `dashboardPath`. Files are read on first request and kept in memory. The dashboard page needs no key
 * (it holds no data): it asks the user for the API key and sends it with each API call it makes.
 *
 * @example
 * const app = Fastify();
 * registerApi(app, { handler, apiKey, maxPayloadBytes });
 * registerStatic(app);
 * // <script src="/io-session/client.js"></script> → window.ioSession.connect(location.origin, { token })
 */
export function registerStatic(app: FastifyInstance, options: StaticOptions = {}): void {
  const clientPath = options.clientPath ?? handlerDefaults.clientPath;
  const clientDir = packageDir('@io-session/client');
  const clientFile = options.clientFile ?? (clientDir && join(clientDir, 'dist', 'io-session.browser.js'));
  const cache = new Map<string, Promise<Asset | undefined>>();
  const load: Loader = (file, transform) => {
    let found = cache.get(file);
    if (!found) {
      found = readFile(file).then(
        (body) => asset(transform ? transform(body) : body, file),
        () => undefined,
      );
      // A missing file is looked up again next time (the build may finish while the node runs).
      void found.then((a) => a ?? cache.delete(file));
      cache.set(file, found);
    }
    return found;
  };

  app.get(clientPath, async (req, reply) => {
    const found = clientFile ? await load(clientFile) : undefined;
    if (!found) return notBuilt(reply, 'the @io-session/client browser bundle', clientFile ?? clientPath);
    return send(req, reply, found);
  });
  app.get(`${clientPath}.map`, async (req, reply) => {
    const found = clientFile ? await load(`${clientFile}.map`) : undefined;
    if (!found) return notBuilt(reply, 'the SDK source map', `${clientFile ?? clientPath}.map`);
    return send(req, reply, found);
  });

  if (options.dashboard ?? handlerDefaults.dashboard) registerDashboard(app, options, load);
}

type Loader = (file: string, transform?: (body: Buffer) => Buffer) => Promise<Asset | undefined>;

/** The dashboard: its page (with a strict CSP) and the files of its folder, nothing else. */
function registerDashboard(app: FastifyInstance, options: StaticOptions, load: Loader): void {
  const mount = (options.dashboardPath ?? handlerDefaults.dashboardPath).replace(/\/+$/, '');
  const dashboardPackage = packageDir('@io-session/dashboard');
  const root = options.dashboardDir ?? (dashboardPackage && join(dashboardPackage, 'dist'));
  // The page is served at `/dashboard` as well as `/dashboard/`: a <base> makes its relative URLs work at both.
  const withBase = (body: Buffer): Buffer =>
    Buffer.from(body.toString('utf8').replace(/<head>/i, `<head>\n    <base href="${mount}/" />`));
  let files: Promise<Set<string>> | undefined;
  const listing = (): Promise<Set<string>> => {
    files ??= readdir(root ?? '', { withFileTypes: true }).then(
      (entries) => new Set(entries.filter((e) => e.isFile()).map((e) => e.name)),
      () => {
        files = undefined;
        return new Set<string>();
      },
    );
    return files;
  };

  const page = async (req: FastifyRequest, reply: FastifyReply) => {
    const found = root ? await load(join(root, 'index.html'), withBase) : undefined;
    if (!found) return notBuilt(reply, 'the dashboard', join(root ?? mount, 'index.html'));
    return send(req, reply, found, { 'content-security-policy': dashboardPolicy });
  };
  app.get(mount, page);
  app.get(`${mount}/`, page);
  app.get<{ Params: { file: string } }>(`${mount}/:file`, async (req, reply) => {
    const { file } = req.params;
    // Only names listed in the folder: no paths, so nothing outside it can be asked for.
    if (!root || file === 'index.html' || !(await listing()).has(file)) {
      return reply.code(404).send({ error: { code: 'not_found', message: 'no such dashboard file' } });
    }
    const found = await load(join(root, file));
    if (!found)
      return reply.code(404).send({ error: { code: 'not_found', message: 'no such dashboard file' } });
    return send(req, reply, found);
  });
}
