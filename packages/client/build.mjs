// The browser bundle: the SDK with socket.io-client inside, as an IIFE exposing `window.ioSession`.
// (dist/index.js and its .d.ts come from `tsc -b`: plain ESM with socket.io-client as a dependency.)
import { build } from 'esbuild';

await build({
  entryPoints: ['src/browser.ts'],
  outfile: 'dist/io-session.browser.js',
  bundle: true,
  format: 'iife',
  globalName: 'ioSession',
  platform: 'browser',
  target: ['es2019'],
  minify: true,
  sourcemap: true,
  legalComments: 'eof',
  logLevel: 'warning',
});
