#!/usr/bin/env node
import { parseChaosArgs } from './options.js';
import { renderReport } from './report.js';
import { runChaos } from './run.js';

async function main(): Promise<number> {
  const options = parseChaosArgs(process.argv.slice(2));
  const result = await runChaos(options, (line) => process.stderr.write(`chaos: ${line}\n`));
  process.stdout.write(`${renderReport(result)}\n`);
  return result.violations.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `io-session chaos: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(2);
  },
);
