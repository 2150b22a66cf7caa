#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { signToken } from './auth.js';
import { loadConfigOrExit } from './config.js';

const usage = `usage: io-session <command>

  node           run one Socket.IO node (configured by environment, see README)
  worker         consume receipts and session events (RECEIPT_WEBHOOK_URL, EVENTS_WEBHOOK_URL)
  dev            a local cluster: 2 nodes and a worker (what \`npm start\` runs)
  bench          the side-by-side benchmark
  token <sub>    print a development JWT for session token <sub> (signed with AUTH_SECRET)
`;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'node': {
      const { runNodeCommand } = await import('./node.js');
      return runNodeCommand(loadConfigOrExit());
    }
    case 'worker': {
      const { runWorkerCommand } = await import('@io-session/worker');
      return runWorkerCommand();
    }
    case 'dev': {
      const { values } = parseArgs({
        args: rest,
        options: {
          nodes: { type: 'string', default: '2' },
          'no-worker': { type: 'boolean' },
          'redis-cluster': { type: 'boolean' },
        },
      });
      const { runDev } = await import('./cli/dev.js');
      return runDev({
        nodes: Number(values.nodes),
        worker: !values['no-worker'],
        redisCluster: values['redis-cluster'] === true,
      });
    }
    case 'bench': {
      const { runBench } = await import('./bench/run.js');
      return runBench(rest);
    }
    case 'token': {
      const sub = rest[0];
      const secret = process.env.AUTH_SECRET;
      if (!sub) {
        process.stderr.write('io-session token: give the session token, e.g. `io-session token user-42`\n');
        process.exit(2);
      }
      if (!secret || secret.length < 32) {
        process.stderr.write('io-session token: AUTH_SECRET must be set (at least 32 characters)\n');
        process.exit(2);
      }
      process.stdout.write(`${await signToken(sub, secret, process.env.TOKEN_TTL ?? '1h')}\n`);
      return;
    }
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(usage);
      return;
    default:
      process.stderr.write(`io-session: unknown command '${command}'\n${usage}`);
      process.exit(2);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  // A layout that does not match the cluster's is a configuration error: one line, exit 2.
  if (err instanceof Error && err.name === 'LayoutError') {
    process.stderr.write(`io-session: invalid configuration: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`io-session: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
