import type { ProcessGroup } from './processes.js';

/**
 * Stops every child of `group` on SIGINT / SIGTERM (then exits 130 / 143; a second signal SIGKILLs them and
 * exits 1) and on an uncaught error (exits 1). Returns a function that removes the handlers.
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
  const onFatal = (err: unknown): void => {
    log(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    void group.stopAll(2000).finally(() => process.exit(1));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('uncaughtException', onFatal);
    process.off('unhandledRejection', onFatal);
  };
}
