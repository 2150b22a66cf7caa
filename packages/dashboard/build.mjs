// Builds the dashboard's static assets into dist/: index.html, app.js (the TypeScript with the SDK bundled
// in), app.css. Nothing is loaded from the network at run time. (`tsc -b` only type-checks: dist/types.)
import { copyFile, mkdir } from 'node:fs/promises';
import { build } from 'esbuild';

await mkdir('dist', { recursive: true });
await build({
  entryPoints: { app: 'src/main.ts' },
  outdir: 'dist',
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2020'],
  minify: true,
  sourcemap: true,
  legalComments: 'eof',
  logLevel: 'warning',
});
await copyFile('src/index.html', 'dist/index.html');
await copyFile('src/app.css', 'dist/app.css');
