import type { Api, MessageInfo } from './api.js';
import { byId, h } from './dom.js';
import { clock } from './format.js';

interface Tracked {
  id: string;
  token: string;
  sentAt: number;
  row: HTMLTableRowElement;
  done: boolean;
}

/** Stop asking about a message after this long (it may still be delivered later; the feed shows that). */
const TRACK_MS = 10 * 60_000;
const MAX_ROWS = 15;

/** The push / broadcast form, and the receipts of the pushes made from this page. */
export class PushPanel {
  readonly #tracked = new Map<string, Tracked>();
  readonly #body = byId<HTMLTableElement>('my-pushes').tBodies[0] as HTMLTableSectionElement;

  constructor(
    private readonly api: Api,
    private readonly onError: (err: unknown) => void,
  ) {
    byId<HTMLFormElement>('push-form').addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#submit();
    });
    byId<HTMLInputElement>('push-broadcast').addEventListener('change', (event) => {
      byId<HTMLInputElement>('push-token').disabled = (event.target as HTMLInputElement).checked;
    });
  }

  /** Prefills the form to push to `token`. */
  fill(token: string): void {
    const broadcast = byId<HTMLInputElement>('push-broadcast');
    broadcast.checked = false;
    const input = byId<HTMLInputElement>('push-token');
    input.disabled = false;
    input.value = token;
    byId<HTMLTextAreaElement>('push-data').focus();
  }

  async #submit(): Promise<void> {
    const result = byId('push-result');
    const raw = byId<HTMLTextAreaElement>('push-data').value;
    let data: unknown = raw;
    try {
      data = JSON.parse(raw);
    } catch {
      // not JSON: sent as a string
    }
    const button = byId<HTMLButtonElement>('push-submit');
    button.disabled = true;
    try {
      if (byId<HTMLInputElement>('push-broadcast').checked) {
        await this.api.broadcast(data);
        result.textContent = `broadcast sent at ${clock(Date.now())}`;
        return;
      }
      const token = byId<HTMLInputElement>('push-token').value.trim();
      if (!token) {
        result.textContent = 'a token is needed (or tick broadcast)';
        return;
      }
      const ttl = Number(byId<HTMLInputElement>('push-ttl').value);
      const accepted = await this.api
        .push({ token, data, ...(ttl > 0 ? { ttlMs: ttl } : {}) })
        .catch((err: unknown) => {
          if ((err as { status?: number }).status === 404) return null;
          throw err;
        });
      if (!accepted) {
        result.textContent = `no session ${token}`;
        return;
      }
      result.textContent = `accepted: ${accepted.id}`;
      this.#track(accepted.id, token);
      await this.poll();
    } catch (err) {
      result.textContent = `failed: ${err instanceof Error ? err.message : String(err)}`;
      this.onError(err);
    } finally {
      button.disabled = false;
    }
  }

  #track(id: string, token: string): void {
    const row = h('tr', { attrs: { 'data-id': id } });
    const entry: Tracked = { id, token, sentAt: Date.now(), row, done: false };
    this.#tracked.set(id, entry);
    this.#render(entry, { id, token, status: 'pending' });
    this.#body.prepend(row);
    while (this.#body.rows.length > MAX_ROWS) this.#body.lastElementChild?.remove();
  }

  /** Asks for the status of every push still pending (each tick). */
  async poll(): Promise<void> {
    const open = [...this.#tracked.values()].filter((t) => !t.done);
    await Promise.all(
      open.map(async (t) => {
        const info = await this.api.message(t.id);
        const expired = Date.now() - t.sentAt > TRACK_MS;
        this.#render(t, info ?? { id: t.id, token: t.token, status: 'expired' });
        if (!info || info.status !== 'pending' || expired) {
          t.done = true;
          this.#tracked.delete(t.id);
        }
      }),
    );
  }

  #render(t: Tracked, info: MessageInfo): void {
    const receipt =
      info.status === 'delivered' && info.deliveredAt
        ? `${clock(info.deliveredAt)} (+${Math.max(0, info.deliveredAt - t.sentAt)} ms)`
        : '';
    t.row.replaceChildren(
      h('td', { class: 'mono' }, t.id),
      h('td', { class: 'mono' }, t.token),
      h('td', {}, h('span', { class: `pill status-${info.status}` }, info.status)),
      h('td', { class: 'muted' }, receipt),
    );
  }
}
