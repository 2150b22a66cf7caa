import type { ChildProcess } from 'node:child_process';
import { deferCleanup, onProcessExit } from './cleanup.js';

/** Resolves with the exit code (null when a signal ended it) once the child has exited; at once if it has. */
export function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** SIGKILLs a child and waits for it to be gone. */
export async function killHard(child: ChildProcess): Promise<void> {
  if (!isRunning(child)) return;
  const exited = exitOf(child);
  child.kill('SIGKILL');
  await exited;
}

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

/** Keeps the last `limit` characters a stream wrote (for debugging output of a failed test). */
export class OutputBuffer {
  #text = '';
  constructor(private readonly limit = 200_000) {}
  append(chunk: Buffer | string): void {
    this.#text += chunk.toString();
    if (this.#text.length > this.limit) this.#text = this.#text.slice(-this.limit);
  }
  toString(): string {
    return this.#text;
  }
}
