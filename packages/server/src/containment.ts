import type { Logger } from '@io-session/store';
import type { NodeMetrics } from './metrics.js';

/** Where an unexpected error was contained (the `where` label of `ios_unexpected_errors_total`). */
export type ContainedWhere = 'http' | 'socket' | 'push_job' | 'unhandled_rejection' | 'uncaught_exception';

/**
 * Keeps one failing session, request or job from taking the node down: an unexpected error is logged with its
 * context and counted, and the caller goes on. Socket.IO runs event and `connection` handlers synchronously
 * (from a nextTick), so a throw there would otherwise reach the process as an uncaught exception.
 */
export class Containment {
  constructor(
    private readonly metrics: NodeMetrics,
    private readonly logger: Logger,
  ) {}

  /** Logs and counts one unexpected error. */
  report(where: ContainedWhere, err: unknown, context: object = {}): void {
    this.metrics.unexpectedErrors.inc({ where });
    this.logger.error({ ...context, where, err }, 'unexpected error (contained)');
  }

  /**
   * `fn` with its throw — and the rejection of a promise it returns — reported instead of escaping.
   * `context` describes a call for the log (e.g. the socket id and token).
   */
  wrap<A extends unknown[]>(
    where: ContainedWhere,
    fn: (...args: A) => unknown,
    context: (...args: A) => object = () => ({}),
  ): (...args: A) => void {
    return (...args: A): void => {
      const fail = (err: unknown): void => this.report(where, err, safeContext(context, args));
      try {
        const result = fn(...args);
        if (result instanceof Promise) result.catch(fail);
      } catch (err) {
        fail(err);
      }
    };
  }
}

function safeContext<A extends unknown[]>(context: (...args: A) => object, args: A): object {
  try {
    return context(...args);
  } catch {
    return {};
  }
}
