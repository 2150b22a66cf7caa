import { fork, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/** Keeps the last `limit` characters a child wrote, to show when it fails. */
class Tail {
  #text = '';
  constructor(private readonly limit = 20_000) {}
  add(chunk: Buffer | string): void {
    this.#text = (this.#text + chunk.toString()).slice(-this.limit);
  }
  toString(): string {
    return this.#text;
  }
}

export interface Child {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly pid: number;
  /** Resolves with the exit code (null after a signal) once the process is gone. */
  readonly exited: Promise<number | null>;
  /** The last lines it wrote to stdout and stderr. */
  output(): string;
}

function isRunning(proc: ChildProcess): boolean {
  return proc.exitCode === null && proc.signalCode === null;
}

/**
 * Every process the bench starts, so that all of them — nodes, client swarms, redis-server — are stopped on
 * the way out: normal end, error, Ctrl-C or SIGTERM. Nothing is left running.
 */
export class ProcessGroup {
  readonly #children = new Set<Child>();

  /** Starts a command (redis-server, an io-session node). */
  spawn(name: string, command: string, args: string[], options: SpawnOptions = {}): Child {
    return this.#track(name, spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  /** Starts one of the bench's own scripts with an IPC channel. */
  fork(name: string, modulePath: string, args: string[], options: { execArgv?: string[] } = {}): Child {
    return this.#track(
      name,
      fork(modulePath, args, {
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        execArgv: options.execArgv ?? [],
        serialization: 'advanced',
      }),
    );
  }

  #track(name: string, proc: ChildProcess): Child {
    const tail = new Tail();
    proc.stdout?.on('data', (chunk: Buffer) => tail.add(chunk));
    proc.stderr?.on('data', (chunk: Buffer) => tail.add(chunk));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    if (proc.pid === undefined) throw new Error(`could not start ${name}`);
    const child: Child = { name, proc, pid: proc.pid, exited, output: () => tail.toString() };
    this.#children.add(child);
    void exited.then(() => this.#children.delete(child));
    proc.on('error', () => undefined);
    return child;
  }

  /** Sends `signal`, waits up to `graceMs` for the exit, then SIGKILLs. */
  async stop(child: Child, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
    if (!isRunning(child.proc)) return;
    child.proc.kill(signal);
    const timer = setTimeout(() => child.proc.kill('SIGKILL'), graceMs);
    await child.exited;
    clearTimeout(timer);
  }

  async stopAll(graceMs = 3000): Promise<void> {
    await Promise.all([...this.#children].map((c) => this.stop(c, 'SIGTERM', graceMs)));
  }

  /** Last resort, synchronous (for `process.on('exit')`): SIGKILL whatever still runs. */
  killAllNow(): void {
    for (const child of this.#children) if (isRunning(child.proc)) child.proc.kill('SIGKILL');
  }

  get size(): number {
    return this.#children.size;
  }
}

/**
 * Stops every child on exit, on SIGINT / SIGTERM (then exits 130 / 143) and on an uncaught error. Returns a
 * function that removes the handlers.
 */
export function stopOnExit(group: ProcessGroup, log: (line: string) => void): () => void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      group.killAllNow();
      process.exit(1);
    }
    stopping = true;
    log(`${signal}: stopping ${group.size} process(es)`);
    void group.stopAll(2000).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  const onExit = (): void => group.killAllNow();
  const onFatal = (err: unknown): void => {
    log(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    void group.stopAll(2000).finally(() => process.exit(1));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', onExit);
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
    process.off('uncaughtException', onFatal);
    process.off('unhandledRejection', onFatal);
  };
}

/** Children of the bench exit when the bench goes away (its IPC channel closes), however it ended. */
export function exitWithParent(): void {
  process.on('disconnect', () => process.exit(0));
}
