import type { SessionClient } from '@io-session/client';
import { Api, ApiError, type FeedItem, type NodeInfo, type Stats } from './api.js';
import { renderChart } from './chart.js';
import { byId, h, show } from './dom.js';
import { ago, clock, count, duration } from './format.js';
import { RateSeries } from './metrics.js';
import { startObserver } from './observer.js';
import { PushPanel } from './push-panel.js';
import { SessionsView } from './sessions-view.js';

const KEY_STORAGE = 'io-session.apiKey';
const TICK_MS = 2000;
const SESSIONS_EVERY_MS = 5000;
const CHART_SLOTS = 60;

/** What runs while the dashboard is open; stopped on sign-out. */
interface Running {
  timers: ReturnType<typeof setInterval>[];
  observer: SessionClient;
}

let running: Running | undefined;

function banner(text: string | null): void {
  const el = byId('banner');
  el.textContent = text ?? '';
  show(el, text !== null);
}

function showLogin(message?: string): void {
  show(byId('app'), false);
  show(byId('sign-out'), false);
  show(byId('login'), true);
  const error = byId('login-error');
  error.textContent = message ?? '';
  show(error, Boolean(message));
  byId<HTMLInputElement>('api-key').focus();
}

function signOut(message?: string): void {
  sessionStorage.removeItem(KEY_STORAGE);
  if (running) {
    for (const t of running.timers) clearInterval(t);
    running.observer.close();
    running = undefined;
  }
  byId('observer-status').hidden = true;
  banner(null);
  showLogin(message);
}

/** Reports a failed API call: a refused key ends the visit, anything else shows in the banner. */
function onError(err: unknown): void {
  if (err instanceof ApiError && err.status === 401) {
    signOut(`The node refused the key: ${err.message}`);
    return;
  }
  banner(`API call failed: ${err instanceof Error ? err.message : String(err)}`);
}

function card(id: string, label: string, value: string): HTMLElement {
  return h(
    'div',
    { class: 'card', attrs: { id: `card-${id}` } },
    h('div', { class: 'value' }, value),
    h('div', { class: 'label' }, label),
  );
}

function renderCounters(stats: Stats, nodes: NodeInfo[] | null, series: RateSeries): void {
  const last = series.rates().at(-1);
  const connections = nodes?.reduce((sum, n) => sum + (n.info.connections ?? 0), 0);
  byId('counters').replaceChildren(
    card('nodes', 'nodes', count(nodes?.length ?? stats.nodes)),
    card('sessions', 'sessions', count(stats.sessions)),
    card('connections', 'connections', count(connections)),
    card('pushes', 'pushes / s', count(last?.pushesPerSec)),
    card('deliveries', 'deliveries / s', count(last?.deliveriesPerSec)),
    card('pending', 'pending backlog', count(stats.messages.pending)),
    card('delivered', 'delivered (total)', count(stats.messages.delivered)),
    card('expired', 'expired (total)', count(stats.messages.expired)),
  );
}

function renderNodes(nodes: NodeInfo[] | null): void {
  const body = byId<HTMLTableElement>('nodes').tBodies[0] as HTMLTableSectionElement;
  const note = byId('nodes-note');
  show(note, nodes === null);
  if (nodes === null) {
    note.textContent = 'This node has no GET /v1/nodes: the node list is not available.';
    body.replaceChildren();
    return;
  }
  const now = Date.now();
  body.replaceChildren(
    ...nodes
      .sort((a, b) => a.nodeId.localeCompare(b.nodeId))
      .map((n) => {
        const late = n.expiresAt < now;
        const state = late
          ? 'late'
          : n.info.draining
            ? 'draining'
            : n.info.ready === false
              ? 'not ready'
              : 'ready';
        return h(
          'tr',
          { attrs: { 'data-node': n.nodeId } },
          h(
            'td',
            { title: n.instance },
            h('div', {}, n.nodeId),
            n.info.startedAt ? h('div', { class: 'muted' }, `up ${duration(now - n.info.startedAt)}`) : null,
          ),
          h('td', {}, ago(now - n.heartbeatAt)),
          h('td', {}, count(n.info.connections)),
          h('td', {}, count(n.info.sessions)),
          h(
            'td',
            {},
            h(
              'span',
              { class: `pill ${state === 'ready' ? 'ok' : state === 'late' ? 'bad' : 'warn'}` },
              state,
            ),
          ),
        );
      }),
  );
}

function renderFeed(items: FeedItem[] | null): void {
  const note = byId('feed-note');
  show(note, items === null);
  if (items === null) {
    note.textContent = 'This node has no GET /v1/feed: the recent receipts and events are not available.';
    return;
  }
  byId('feed').replaceChildren(
    ...items.map((item) => {
      if (item.type === 'receipt') {
        return h(
          'li',
          { attrs: { 'data-kind': 'receipt', 'data-id': item.id } },
          h('span', { class: 'muted' }, clock(item.deliveredAt)),
          h('span', { class: 'pill status-delivered' }, 'receipt'),
          h('span', { class: 'mono' }, item.token),
          h('span', { class: 'muted mono' }, `${item.id} via ${item.nodeId}`),
        );
      }
      const started = item.type === 'session.started';
      return h(
        'li',
        { attrs: { 'data-kind': item.type } },
        h('span', { class: 'muted' }, clock(item.at)),
        h('span', { class: `pill ${started ? 'ok' : 'warn'}` }, started ? 'started' : 'ended'),
        h('span', { class: 'mono' }, item.token),
        item.reason ? h('span', { class: 'muted' }, item.reason) : null,
      );
    }),
  );
}

function start(api: Api): void {
  show(byId('login'), false);
  show(byId('app'), true);
  show(byId('sign-out'), true);
  const series = new RateSeries(CHART_SLOTS);
  const push = new PushPanel(api, onError);
  const sessions = new SessionsView(api, { pushTo: (token) => push.fill(token), onError });
  const observer = startObserver(byId('observer-status'), byId('inbox'));

  let ticking = false;
  const tick = async (): Promise<void> => {
    if (ticking) return;
    ticking = true;
    try {
      const [stats, nodes, feed] = await Promise.all([api.stats(), api.nodes(), api.feed(), push.poll()]);
      series.add({
        at: stats.at,
        pushed: stats.messages.pushed,
        delivered: stats.messages.delivered,
        pending: stats.messages.pending,
      });
      const rates = series.rates();
      renderCounters(stats, nodes, series);
      renderChart(
        byId('chart'),
        [
          { className: 'pushes', values: rates.map((r) => r.pushesPerSec) },
          { className: 'deliveries', values: rates.map((r) => r.deliveriesPerSec) },
          { className: 'pending', values: rates.map((r) => r.pending), right: true },
        ],
        CHART_SLOTS,
      );
      renderNodes(nodes);
      renderFeed(feed);
      byId('updated').textContent = `updated ${clock(Date.now())}`;
      banner(null);
    } catch (err) {
      onError(err);
    } finally {
      ticking = false;
    }
  };
  running = {
    observer,
    timers: [
      setInterval(() => void tick(), TICK_MS),
      setInterval(() => void sessions.refresh(), SESSIONS_EVERY_MS),
    ],
  };
  void tick();
  void sessions.refresh();
}

function boot(): void {
  fetch('/healthz')
    .then((res) => res.json() as Promise<{ nodeId?: string }>)
    .then((body) => (byId('served-by').textContent = body.nodeId ? `served by ${body.nodeId}` : ''))
    .catch(() => undefined);
  byId('sign-out').addEventListener('click', () => signOut());
  byId<HTMLFormElement>('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const key = byId<HTMLInputElement>('api-key').value.trim();
    const api = new Api(key);
    // Any keyed call proves the key; a 401 names what is wrong (no key set on the node, or a wrong one).
    api.sessions(null, 1).then(
      () => {
        sessionStorage.setItem(KEY_STORAGE, key);
        byId<HTMLInputElement>('api-key').value = '';
        start(api);
      },
      (err: unknown) => showLogin(err instanceof Error ? err.message : String(err)),
    );
  });
  const saved = sessionStorage.getItem(KEY_STORAGE);
  if (saved) start(new Api(saved));
  else showLogin();
}

boot();
