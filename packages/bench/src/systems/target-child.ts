import { fileURLToPath } from 'node:url';
import type { TargetCommand, TargetEvent } from '../children/messages.js';
import type { Child, ProcessGroup } from '@io-session/devtools';
import type { LoadHooks, LoadResult, LoadSpec } from '../load/pacer.js';

/** Path of one of the bench's child scripts (compiled next to this file). */
export function childScript(name: string): string {
  return fileURLToPath(new URL(`../children/${name}.js`, import.meta.url));
}

/** A forked node-like child (bare node, seed node, BullMQ worker) and what it reports over IPC. */
export class TargetChild {
  delivered = 0;
  readonly ready: Promise<number>;
  #loaded: ((event: TargetEvent) => void) | undefined;
  #hooks: LoadHooks | undefined;

  constructor(readonly child: Child) {
    this.ready = new Promise<number>((resolve, reject) => {
      child.proc.on('message', (event: TargetEvent) => {
        if (event.type === 'ready') resolve(event.port);
        else if (event.type === 'delivered') this.delivered = event.total;
        else if (event.type === 'second') this.#hooks?.onSecond?.({ elapsedMs: 0, ...event });
        else if (event.type === 'window') void this.#hooks?.onWindow?.(event.edge);
        else this.#loaded?.(event);
      });
      void child.exited.then((code) =>
        reject(new Error(`${child.name} exited (${code}) before it was ready:\n${child.output()}`)),
      );
    });
  }

  static fork(group: ProcessGroup, name: string, script: string, config: unknown): TargetChild {
    return new TargetChild(group.fork(name, childScript(script), [JSON.stringify(config)]));
  }

  /** Runs the load generator inside the child (for io-session-handler, whose pushes are in-process calls). */
  runLoad(spec: LoadSpec, hooks: LoadHooks = {}): Promise<LoadResult> {
    this.#hooks = hooks;
    return new Promise((resolve, reject) => {
      const gone = (code: number | null) =>
        reject(new Error(`${this.child.name} exited (${code}) during a run`));
      void this.child.exited.then(gone);
      this.#loaded = (event) => {
        this.#loaded = undefined;
        if (event.type === 'loaded') resolve(event.result);
        else if (event.type === 'error') reject(new Error(`${this.child.name}: ${event.message}`));
      };
      this.child.proc.send({ type: 'load', spec } satisfies TargetCommand);
    });
  }
}
