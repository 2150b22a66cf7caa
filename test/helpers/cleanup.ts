/**
 * Cleanup registry of the current test file. Helpers that start something (a process, a client, a server)
 * register how to stop it here; `setup-cleanup.ts` (a vitest setup file) stops what a test started after
 * that test, and what `beforeAll` hooks started after the file, whether the tests passed or not, newest first.
 */
type Cleanup = () => unknown;

const cleanups: Cleanup[] = [];
const exitHooks = new Set<() => void>();

/** Registers `fn` to run after the test file; returns a function that unregisters it. */
export function deferCleanup(fn: Cleanup): () => void {
  cleanups.push(fn);
  return () => {
    const i = cleanups.lastIndexOf(fn);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

/** Marks the start of a scope (a test): `runCleanups(mark)` then stops only what was started after it. */
export function cleanupMark(): number {
  return cleanups.length;
}

/**
 * Runs (and forgets) the cleanups registered after `mark` (all of them by default), newest first; collects
 * failures and throws them together.
 */
export async function runCleanups(mark = 0): Promise<void> {
  const errors: unknown[] = [];
  while (cleanups.length > mark) {
    const fn = cleanups.pop()!;
    try {
      await fn();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length > 0) throw new AggregateError(errors, `${errors.length} cleanup(s) failed`);
}

/**
 * Registers a synchronous last resort for when the worker process exits without running afterAll (a crash
 * or a timeout kill): child processes must never outlive the test run.
 */
export function onProcessExit(fn: () => void): () => void {
  exitHooks.add(fn);
  return () => exitHooks.delete(fn);
}

function runExitHooks(): void {
  for (const fn of exitHooks) {
    try {
      fn();
    } catch {
      // exiting anyway
    }
  }
  exitHooks.clear();
}

process.once('exit', runExitHooks);
// A worker stopped by a signal skips 'exit' listeners: kill the children first, then die of the same signal.
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.once(signal, () => {
    runExitHooks();
    process.kill(process.pid, signal);
  });
}
