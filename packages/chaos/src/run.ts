import { pollUntil, sleep } from '@io-session/devtools';
import { check, type CheckResult } from './check/checker.js';
import { listSessions, readQueueJobs, readStatuses, type ListedSession } from './check/collect.js';
import { ChaosCluster } from './cluster/chaos-cluster.js';
import type { NodeSlot } from './cluster/node-slot.js';
import { chaosDefaults } from './defaults.js';
import { FaultInjector } from './faults.js';
import { History } from './history.js';
import { ChaosClient, type ClientKind } from './load/chaos-client.js';
import { Pusher } from './load/pusher.js';
import { replayCommand, type ChaosOptions } from './options.js';
import { Random } from './random.js';

/** What a run found. */
export interface ChaosResult extends CheckResult {
  seed: number;
  replay: string;
  historyFile: string;
  faults: Record<string, number>;
  proxies: Record<string, number>;
}

/** The clients of a run, and the churn that replaces and bounces them. */
class Clients {
  readonly all: ChaosClient[] = [];
  readonly #random: Random;
  #n = 0;
  #churn: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: ChaosOptions,
    private readonly history: History,
    private readonly slots: NodeSlot[],
  ) {
    this.#random = new Random(options.seed, 2);
  }

  pickNode(random: Random): NodeSlot | undefined {
    const healthy = this.slots.filter((s) => s.healthy);
    return healthy.length > 0 ? random.pick(healthy) : undefined;
  }

  add(): void {
    const n = ++this.#n;
    const random = new Random(this.options.seed, 1000 + n);
    const d = chaosDefaults;
    const kind: ClientKind = random.chance(d.silentShare)
      ? 'silent'
      : random.chance(d.slowShare)
        ? 'slow'
        : 'prompt';
    const client = new ChaosClient(`s${n}`, kind, {
      history: this.history,
      random,
      pickNode: () => this.pickNode(random),
      slowAckMs: d.slowAckMs,
    });
    this.all.push(client);
    client.connect();
  }

  present(): ChaosClient[] {
    return this.all.filter((c) => c.present);
  }

  startChurn(): void {
    this.#churn = setInterval(() => {
      const present = this.present();
      if (present.length === 0) return;
      const client = this.#random.pick(present);
      if (this.#random.chance(chaosDefaults.leaveShare)) {
        client.leave();
        this.add();
      } else {
        // back within the grace: the session goes on
        client.bounce(this.#random.int(0, Math.floor(chaosDefaults.graceMs / 2)));
      }
    }, chaosDefaults.churnEveryMs);
  }

  stopChurn(): void {
    clearInterval(this.#churn);
  }
}

async function waitFor(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean> | boolean,
): Promise<boolean> {
  return pollUntil(check, { timeoutMs, message: what, intervalMs: 200, retryErrors: true }).then(
    () => true,
    () => false,
  );
}

/** After the faults: everything healed and restarted; returns what did not come back. */
async function settle(
  cluster: ChaosCluster,
  clients: Clients,
): Promise<{ notBack: string[]; sessions: ListedSession[] }> {
  for (const slot of cluster.slots) {
    slot.proxy.heal();
    slot.proxy.setLatency(0);
    if (!slot.up) await slot.start();
  }
  const timeout = chaosDefaults.settleTimeoutMs;
  await waitFor('every client back', timeout, () => clients.present().every((c) => c.connected));
  const notBack = clients
    .present()
    .filter((c) => !c.connected)
    .map((c) => c.token);
  const live = new Set(cluster.slots.map((s) => s.nodeId));
  const slot = cluster.slots[0]!;
  let sessions: ListedSession[] = [];
  await waitFor('no registration of a dead process', timeout, async () => {
    sessions = await listSessions(slot);
    return sessions.every((s) => s.connections.every((c) => live.has(c.nodeId)));
  });
  return { notBack, sessions };
}

/**
 * Every queued push processed: a job whose lock was taken by a node that then died (or whose reply was lost) is
 * only run again once BullMQ finds it stalled (lock duration + stalled interval, up to a minute).
 */
async function awaitPushJobs(cluster: ChaosCluster, history: History): Promise<void> {
  const queued = history.of('push').filter((p) => p.via === 'queue' && p.detail === 'queued');
  await waitFor('every push job processed', 120_000, async () => {
    const jobs = new Map((await readQueueJobs(cluster.inspector, 'push')).map((j) => [j.id, j]));
    return queued.every((p) => jobs.get(`m-${p.id}`)?.returnvalue);
  });
}

/** Every client leaves; waits until every session ended and every receipt and event was relayed. */
async function drain(cluster: ChaosCluster, clients: Clients): Promise<void> {
  for (const client of clients.present()) client.leave();
  const slot = cluster.slots[0]!;
  await waitFor(
    'every session ended',
    chaosDefaults.settleTimeoutMs,
    async () => (await listSessions(slot)).length === 0,
  );
  let last = -1;
  await waitFor('the outboxes relayed', chaosDefaults.settleTimeoutMs, async () => {
    const keys = await cluster.inspector.keys('chaos:*:outbox');
    const lengths = await Promise.all(keys.map((k) => cluster.inspector.xlen(k)));
    const total = lengths.reduce((a, b) => a + b, 0);
    const stable = total === 0 && last === 0;
    last = total;
    return stable;
  });
}

async function collect(
  cluster: ChaosCluster,
  history: History,
  settled: { notBack: string[]; sessions: ListedSession[] },
): Promise<CheckResult> {
  const slot = cluster.slots[0]!;
  const pushes = history.of('push');
  const statuses = await readStatuses(slot, pushes);
  const [pushJobs, receiptJobs, eventJobs] = await Promise.all(
    ['push', 'receipts', 'session-events'].map((q) => readQueueJobs(cluster.inspector, q)),
  );
  return check({
    history,
    graceMs: chaosDefaults.graceMs,
    slackMs: chaosDefaults.slackMs,
    clientsNotBack: settled.notBack,
    settledSessions: settled.sessions,
    liveNodeIds: cluster.slots.map((s) => s.nodeId),
    statuses,
    pushJobs: pushJobs!,
    receiptJobs: receiptJobs!,
    eventJobs: eventJobs!,
    crashes: cluster.slots.flatMap((s) => s.crashes),
  });
}

function proxyFigures(cluster: ChaosCluster): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const slot of cluster.slots)
    for (const [k, n] of Object.entries(slot.proxy.stats())) if (k !== 'open') sum[k] = (sum[k] ?? 0) + n;
  return sum;
}

/**
 * One seeded chaos run: the cluster under faults, pushes and churn for `minutes`, then settling, draining and the
 * history check. `log` gets progress lines.
 */
export async function runChaos(
  options: ChaosOptions,
  log: (line: string) => void = () => undefined,
): Promise<ChaosResult> {
  const history = new History(options.historyDir);
  log(`seed ${options.seed}, ${options.minutes} min, history ${history.file}`);
  const cluster = await ChaosCluster.start(options, history);
  try {
    const clients = new Clients(options, history, cluster.slots);
    for (let i = 0; i < options.sessions; i++) clients.add();
    await waitFor('the first clients connected', 30_000, () => clients.all.every((c) => c.connected));
    const pushRandom = new Random(options.seed, 3);
    const pusher = new Pusher({
      history,
      random: pushRandom,
      redisUrl: cluster.redis.url,
      tokens: () => clients.present().map((c) => c.token),
      pickNode: () => clients.pickNode(pushRandom),
      ttlMs: chaosDefaults.messageTtlMs,
      pushesPerSecond: options.pushesPerSecond,
    });
    const d = chaosDefaults;
    const faults = new FaultInjector({
      history,
      random: new Random(options.seed, 1),
      redis: cluster.redis,
      slots: cluster.slots,
      heartbeatTtlMs: d.heartbeatTtlMs,
      redisOutageMs: options.redisOutageMs,
      gapMs: d.faultGapMs,
      only: options.faults,
    });
    pusher.start();
    clients.startChurn();
    await faults.run(Date.now() + options.minutes * 60_000);
    log(`faults done: ${JSON.stringify(faults.counts)}`);
    clients.stopChurn();
    await pusher.close();
    const settled = await settle(cluster, clients);
    await awaitPushJobs(cluster, history);
    log('settled; waiting for the longest message TTL');
    await sleep(d.messageTtlMs[1] + 1_000);
    await drain(cluster, clients);
    const result = await collect(cluster, history, settled);
    return {
      ...result,
      seed: options.seed,
      replay: replayCommand(options),
      historyFile: history.file,
      faults: faults.counts,
      proxies: proxyFigures(cluster),
    };
  } finally {
    await cluster.close();
  }
}
