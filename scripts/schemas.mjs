/* global process, console, URL */
// `npm run schemas`: writes schemas/*.schema.json, the JSON Schemas of every job body and webhook body, from the
// zod schemas the code validates with (packages/worker/src/schemas.ts). test/unit/json-schemas.test.ts fails when
// a checked-in file differs from what the code generates. `--check` writes nothing and exits 1 on a difference.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { jsonSchemas } from '@io-session/worker';
import * as prettier from 'prettier';

const dir = fileURLToPath(new URL('../schemas/', import.meta.url));
const check = process.argv.includes('--check');
await mkdir(dir, { recursive: true });
let stale = 0;
for (const [file, schema] of Object.entries(jsonSchemas())) {
  const path = `${dir}${file}`;
  const options = (await prettier.resolveConfig(path)) ?? {};
  const text = await prettier.format(JSON.stringify(schema), { ...options, filepath: path });
  const old = await readFile(path, 'utf8').catch(() => '');
  if (old === text) continue;
  stale += 1;
  if (check) console.error(`schemas/${file} differs from what the code generates`);
  else {
    await writeFile(path, text);
    console.log(`wrote schemas/${file}`);
  }
}
if (check && stale > 0) process.exit(1);
if (stale === 0) console.log('schemas/ is up to date');
