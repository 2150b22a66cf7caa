/** The part of `GET /v1/stats` the summary reads. */
interface ClusterStats {
  at: number;
  sessions: number;
  messages: { pushed: number; delivered: number; pending: number };
}

export interface SummaryOptions {
  /** A node's base URL, e.g. `http://localhost:3000`. */
  url: string;
  apiKey: string;
  print: (line: string) => void;
  /** Default 1000. */
  intervalMs?: number;
}

/** `pushes +N/s · delivered +M/s · pending P · sessions S` between two samples. */
export function summaryLine(before: ClusterStats, now: ClusterStats): string {
  const seconds = Math.max(0.001, (now.at - before.at) / 1000);
  const rate = (a: number, b: number): string => `+${Math.round(Math.max(0, b - a) / seconds)}/s`;
  return [
    `pushes ${rate(before.messages.pushed, now.messages.pushed)}`,
    `delivered ${rate(before.messages.delivered, now.messages.delivered)}`,
    `pending ${now.messages.pending}`,
    `sessions ${now.sessions}`,
  ].join(' · ');
}

function changed(before: ClusterStats, now: ClusterStats): boolean {
  const [a, b] = [before.messages, now.messages];
  return (
    a.pushed !== b.pushed ||
    a.delivered !== b.delivered ||
    a.pending !== b.pending ||
    before.sessions !== now.sessions
  );
}

/**
 * Polls the cluster-wide statistics of one node (`GET /v1/stats`) every second and prints a summary line of
 * pushes and receipts when something changed since the last sample. Returns a function that stops it.
 */
export function startSummary(options: SummaryOptions): () => void {
  let last: ClusterStats | undefined;
  let busy = false;
  const sample = async (): Promise<void> => {
    const res = await fetch(`${options.url}/v1/stats`, {
      headers: { authorization: `Bearer ${options.apiKey}` },
      signal: AbortSignal.timeout(options.intervalMs ?? 1000),
    });
    if (!res.ok) return;
    const now = (await res.json()) as ClusterStats;
    if (last && changed(last, now)) options.print(summaryLine(last, now));
    last = now;
  };
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    // a node that is starting or stopping does not answer: the next second tries again
    void sample()
      .catch(() => undefined)
      .finally(() => (busy = false));
  }, options.intervalMs ?? 1000);
  return () => clearInterval(timer);
}
