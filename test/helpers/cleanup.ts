/**
 * Cleanup registry of the current test file. Helpers that start something (a process, a client, a server)
 * register how to stop it here; `setup-cleanup.ts` (a vitest setup file) runs every registered cleanup
 * after the file, whether its tests passed or not, newest first.
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

/** Runs (and forgets) every registered cleanup, newest first; collects failures and throws them together. */
export async function runCleanups(): Promise<void> {
  const errors: unknown[] = [];
  while (cleanups.length > 0) {
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

process.once('exit', () => {
  for (const fn of exitHooks) {
    try {
      fn();
    } catch {
      // exiting anyway
    }
  }
});
