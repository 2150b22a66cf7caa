import { fork, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { devtoolsDefaults } from './defaults.js';
import { OutputBuffer } from './output-buffer.js';

/** A process started by a `ProcessGroup`. */
export interface Child {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly pid: number;
  /** Resolves with the exit code (null after a signal) once the process is gone. */
  readonly exited: Promise<number | null>;
  /** The last characters it wrote to stdout and stderr. */
  output(): string;
}

export function isRunning(proc: ChildProcess): boolean {
  return proc.exitCode === null && proc.signalCode === null;
}

/** Resolves with the exit code (null when a signal ended it) once `proc` has exited; at once if it has. */
export function exitOf(proc: ChildProcess): Promise<number | null> {
  if (!isRunning(proc)) return Promise.resolve(proc.exitCode);
  return new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
}

/** SIGKILLs `proc` and waits until it is gone. */
export async function killHard(proc: ChildProcess): Promise<void> {
  if (!isRunning(proc)) return;
  const exited = exitOf(proc);
  proc.kill('SIGKILL');
  await exited;
}

// Groups with live children: SIGKILLed when this process exits, however it exits (one listener for all).
const liveGroups = new Set<ProcessGroup>();
let exitHookInstalled = false;

function killLiveGroupsOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const group of liveGroups) group.killAllNow();
  });
}

/**
 * The processes one owner started (a test file, the bench, `io-session dev`), so that all of them can be
 * stopped together: each has its output captured and piped (stdout and stderr are readable on `proc`), and
 * whatever still runs is SIGKILLed when this process exits. Signals are the owner's business (`stopOnExit`).
 */
export class ProcessGroup {
  readonly #children = new Set<Child>();
  readonly #detached: boolean;

  /**
   * `detached`: every child gets its own process group, so that a terminal's Ctrl-C reaches only this process,
   * which then stops them in its own order (`io-session dev`: the nodes drain before their Redis goes). Default
   * false.
   */
  constructor(options: { detached?: boolean } = {}) {
    this.#detached = options.detached ?? false;
  }

  /** Starts a command (redis-server, an io-session node); throws when it cannot be started. */
  spawn(name: string, command: string, args: string[], options: Omit<SpawnOptions, 'stdio'> = {}): Child {
    const stdio: SpawnOptions['stdio'] = ['ignore', 'pipe', 'pipe'];
    return this.#track(name, spawn(command, args, { detached: this.#detached, ...options, stdio }));
  }

  /** Starts a Node.js script with an IPC channel (advanced serialization). */
  fork(name: string, modulePath: string, args: string[], options: { execArgv?: string[] } = {}): Child {
    const proc = fork(modulePath, args, {
      detached: this.#detached,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      execArgv: options.execArgv ?? [],
      serialization: 'advanced',
    });
    return this.#track(name, proc);
  }

  #track(name: string, proc: ChildProcess): Child {
    // A command that is not installed emits 'error' (ENOENT) after spawn returned without a pid.
    proc.on('error', () => undefined);
    if (proc.pid === undefined) {
      throw new Error(`could not start ${name} (${proc.spawnfile}): is it installed and on PATH?`);
    }
    const tail = new OutputBuffer();
    proc.stdout?.on('data', (chunk: Buffer) => tail.append(chunk));
    proc.stderr?.on('data', (chunk: Buffer) => tail.append(chunk));
    const child: Child = { name, proc, pid: proc.pid, exited: exitOf(proc), output: () => tail.toString() };
    this.#children.add(child);
    liveGroups.add(this);
    killLiveGroupsOnExit();
    void child.exited.then(() => {
      this.#children.delete(child);
      if (this.#children.size === 0) liveGroups.delete(this);
    });
    return child;
  }

  /** Sends `signal`, waits up to `graceMs` for the exit, then SIGKILLs; resolves once the child is gone. */
  async stop(
    child: Child,
    signal: NodeJS.Signals = 'SIGTERM',
    graceMs: number = devtoolsDefaults.stopGraceMs,
  ): Promise<void> {
    if (!isRunning(child.proc)) return;
    child.proc.kill(signal);
    const timer = setTimeout(() => child.proc.kill('SIGKILL'), graceMs);
    await child.exited;
    clearTimeout(timer);
  }

  /** `stop` for every child at once. */
  async stopAll(
    graceMs: number = devtoolsDefaults.stopAllGraceMs,
    signal: NodeJS.Signals = 'SIGTERM',
  ): Promise<void> {
    await Promise.all([...this.#children].map((c) => this.stop(c, signal, graceMs)));
  }

  /** Last resort, synchronous (for `process.on('exit')`): SIGKILL whatever still runs. */
  killAllNow(): void {
    for (const child of this.#children) if (isRunning(child.proc)) child.proc.kill('SIGKILL');
  }

  /** Children still running (or not yet reaped). */
  get size(): number {
    return this.#children.size;
  }
}
