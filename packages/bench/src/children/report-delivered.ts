import type { TargetEvent } from './messages.js';

/** Reports a cumulative delivered count to the bench every `intervalMs` while it changes. */
export function reportDelivered(count: () => number, intervalMs = 10): NodeJS.Timeout {
  let last = -1;
  const timer = setInterval(() => {
    const total = count();
    if (total === last) return;
    last = total;
    process.send?.({ type: 'delivered', total } satisfies TargetEvent);
  }, intervalMs);
  timer.unref();
  return timer;
}
