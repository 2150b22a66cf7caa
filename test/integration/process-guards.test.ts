import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { exitOf, trackChild } from '../helpers/child.js';
import { REPO_ROOT } from '../helpers/node-process.js';

/**
 * A process with the commands' guards installed (the same function `io-session node` and `io-session worker`
 * call): it rejects a promise nobody awaits, shows it is still running, then throws from a timer.
 */
const SCRIPT = `
import { installProcessGuards } from '@io-session/worker';
const logger = Object.fromEntries(['debug', 'info', 'warn', 'error'].map((level) => [
  level, (obj, msg) => process.stdout.write(JSON.stringify({ level, msg, err: obj.err?.message ?? String(obj.err) }) + '\\n'),
]));
const counted = [];
installProcessGuards({
  logger,
  count: (kind) => counted.push(kind),
  stop: async () => { process.stdout.write(JSON.stringify({ stopped: counted }) + '\\n'); },
  stopTimeoutMs: 2000,
});
void Promise.reject(new Error('nobody awaited me'));
setTimeout(() => {
  process.stdout.write(JSON.stringify({ alive: true }) + '\\n');
  setTimeout(() => { throw new Error('a bug in a timer'); }, 10);
}, 100);
`;

describe('process guards of the node and worker commands', () => {
  it('contain an unhandled rejection; stop and exit 1 after an uncaught exception, with one clear line', async () => {
    const proc = spawn(process.execPath, ['--input-type=module', '-e', SCRIPT], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const forget = trackChild(proc);
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await exitOf(proc);
    forget();
    expect(code, stderr).toBe(1);
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([
      {
        level: 'error',
        msg: 'unhandled promise rejection (contained; running on)',
        err: 'nobody awaited me',
      },
      { alive: true },
      {
        level: 'error',
        msg: 'uncaught exception: a bug in a timer — stopping, then exit 1 (state unknown)',
        err: 'a bug in a timer',
      },
      { stopped: ['unhandled_rejection', 'uncaught_exception'] },
    ]);
    expect(stderr).toBe('');
  });
});
