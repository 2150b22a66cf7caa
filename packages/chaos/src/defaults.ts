/**
 * Every default of the chaos run, documented once. `ChaosOptions` fields fall back to these.
 */
export const chaosDefaults = {
  /** Seed of every random choice (the fault schedule, the clients, the pushes). */
  seed: 1,
  /** Length of the chaos phase, in minutes (settling and checking come after it). */
  minutes: 2,
  /** io-session node processes, each behind its own fault proxy. */
  nodes: 3,
  /** Sessions (one client each) at the start; churn replaces some of them. */
  sessions: 30,
  /** Pushes per second, by HTTP and by queue job (half each). */
  pushesPerSecond: 8,
  /** SESSION_TIMEOUT_MS of the nodes: the grace of a session whose last client left. */
  graceMs: 2_000,
  /** HEARTBEAT_MS of the nodes. */
  heartbeatMs: 1_000,
  /** HEARTBEAT_TTL_MS of the nodes: a node silent this long is reaped. */
  heartbeatTtlMs: 5_000,
  /**
   * Longest Redis outage (restart or stall) injected, in ms. Below the heartbeat TTL by default: an outage past
   * it fences every node on main today (issue 13); raise it with `--redis-outage-ms` to test that.
   */
  redisOutageMs: 3_000,
  /** Shortest and longest pause between two faults, in ms. */
  faultGapMs: [1_500, 5_000] as const,
  /** Message TTLs of the pushes are drawn from this range, in ms (settling waits for the longest). */
  messageTtlMs: [4_000, 12_000] as const,
  /** Share of clients that acknowledge late, and how late (ms). */
  slowShare: 0.2,
  slowAckMs: [200, 1_500] as const,
  /** Share of clients that never acknowledge (their pushes must expire). */
  silentShare: 0.1,
  /** A churn step (a client reconnects, or leaves for good and a new one arrives) every this many ms. */
  churnEveryMs: 700,
  /** Share of churn steps in which a client leaves for good (a new session replaces it). */
  leaveShare: 0.15,
  /** How long settling may take: every client back, dead registrations reaped, queues relayed. */
  settleTimeoutMs: 60_000,
  /** Allowed clock slack when comparing client-side times with Redis TIME (same machine), in ms. */
  slackMs: 250,
  /** Where the history file goes: a new folder under the OS temp dir. */
  historyDir: undefined as string | undefined,
} as const;
