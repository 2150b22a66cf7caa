import type { Logger } from '@io-session/store';

/** Where a process-level error was caught. */
export type ProcessErrorKind = 'unhandled_rejection' | 'uncaught_exception';

export interface ProcessGuardOptions {
  logger: Logger;
  /** Counts a caught error (a metric). */
  count?: (kind: ProcessErrorKind) => void;
  /** The graceful-as-possible stop before exiting after an uncaught exception. */
  stop: () => Promise<void>;
  /** Longest wait for `stop`, in ms; then the process exits anyway. */
  stopTimeoutMs: number;
}

/**
 * The last line of containment of the `io-session node` and `io-session worker` commands (libraries install
 * nothing process-wide: that is the app's to decide).
 * - An unhandled rejection is logged and counted, and the process keeps running: a promise nobody awaited
 *   failed, and what it did or did not do is bounded by the one operation it belonged to.
 * - An uncaught exception is logged in one line, then the process stops as gracefully as it can (bounded by
 *   `stopTimeoutMs`) and exits 1: the throw unwound a synchronous stack halfway through some update, so the
 *   state of this process is unknown, and a fresh process (the supervisor restarts it; clients reconnect to
 *   the others within their grace) is the only state known to be right.
 * @returns a function that removes both handlers.
 */
export function installProcessGuards(o: ProcessGuardOptions): () => void {
  let rejections = 0;
  let exiting = false;
  const onRejection = (reason: unknown): void => {
    rejections += 1;
    o.count?.('unhandled_rejection');
    o.logger.error({ err: reason, rejections }, 'unhandled promise rejection (contained; running on)');
  };
  const onException = (err: Error): void => {
    o.count?.('uncaught_exception');
    if (exiting) {
      o.logger.error({ err }, 'uncaught exception while stopping: exiting now');
      process.exit(1);
    }
    exiting = true;
    o.logger.error({ err }, `uncaught exception: ${err.message} — stopping, then exit 1 (state unknown)`);
    // Not unref'd: the exit must be 1 even when nothing else keeps the process alive.
    const timeout = new Promise((resolve) => setTimeout(resolve, o.stopTimeoutMs));
    void Promise.race([o.stop(), timeout])
      .catch((stopErr: unknown) =>
        o.logger.error({ err: stopErr }, 'stop after an uncaught exception failed'),
      )
      .finally(() => process.exit(1));
  };
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  };
}
