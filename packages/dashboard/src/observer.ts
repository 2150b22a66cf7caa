import { connect, type SessionClient } from '@io-session/client';
import { h } from './dom.js';
import { clock, json } from './format.js';

/** The session token the dashboard connects as. */
export const OBSERVER_TOKEN = 'dashboard-observer';

/**
 * Connects this page with the SDK as `dashboard-observer`, shows its state in `status` and lists what it
 * receives (broadcasts, pushes to that token) in `inbox`.
 */
export function startObserver(status: HTMLElement, inbox: HTMLElement): SessionClient {
  const client = connect(location.origin, { token: OBSERVER_TOKEN, reconnectDelayMaxMs: 5000 });
  const set = (text: string, kind: 'ok' | 'warn' | 'bad'): void => {
    status.hidden = false;
    status.className = `pill ${kind}`;
    status.textContent = text;
  };
  set('observer connecting', 'warn');
  client.on('connected', () => {
    set(`connected as ${OBSERVER_TOKEN}`, 'ok');
    client.setData({ kind: 'dashboard', userAgent: navigator.userAgent.slice(0, 80) });
  });
  client.on('reconnecting', ({ delayMs }) =>
    set(`observer reconnecting in ${Math.round(delayMs)} ms`, 'warn'),
  );
  client.on('logout', () => set('observer logged out by the server', 'bad'));
  client.on('error', (e) => {
    if (e.code === 'invalid_token') set('observer refused: invalid_token (AUTH=jwt needs a JWT)', 'bad');
  });
  client.onPush((data, meta) => {
    inbox.prepend(
      h(
        'li',
        {},
        h('span', { class: 'muted' }, clock(meta.ts)),
        h('span', { class: 'pill' }, meta.broadcast ? 'broadcast' : 'push'),
        h('span', { class: 'mono' }, json(data)),
      ),
    );
    while (inbox.children.length > 30) inbox.lastElementChild?.remove();
  });
  return client;
}
