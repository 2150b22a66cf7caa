import type { ChildProcess } from 'node:child_process';
import { isRunning, killHard, ProcessGroup } from '@io-session/devtools';
import { deferCleanup, onProcessExit } from './cleanup.js';

export { exitOf, isRunning, killHard, OutputBuffer } from '@io-session/devtools';

/**
 * Makes sure `child` dies with the test file: SIGKILL in the file's cleanup, and synchronously when the worker
 * process exits. Returns a function that forgets the child (after it was stopped on purpose).
 */
export function trackChild(child: ChildProcess): () => void {
  const undoCleanup = deferCleanup(() => killHard(child));
  const undoExit = onProcessExit(() => {
    if (isRunning(child)) child.kill('SIGKILL');
  });
  return () => {
    undoCleanup();
    undoExit();
  };
}

/**
 * A devtools `ProcessGroup` whose processes die with the test (or the `beforeAll` that made it): SIGKILLed in
 * its cleanup, and synchronously when the worker process exits or is signalled.
 */
export function testProcessGroup(): ProcessGroup {
  const group = new ProcessGroup();
  const undoExit = onProcessExit(() => group.killAllNow());
  deferCleanup(async () => {
    await group.stopAll(0, 'SIGKILL');
    undoExit();
  });
  return group;
}
