import { ApiFailure, call } from './api.js';
import { age, bytes, el, time } from './format.js';

const HISTORY_PAGE = 50;

/** A registration's outage verdict in words ('' for none). */
export function verdictText(entry) {
  const verdict = entry.verdict;
  if (!verdict) return '';
  const parts = [`verdict ${verdict.outcome}`];
  if (verdict.booted_at) parts.push(`booted ${time(verdict.booted_at)}`);
  if (verdict.agent_started_at) parts.push(`agent started ${time(verdict.agent_started_at)}`);
  if (verdict.failed_attempts) parts.push(`${verdict.failed_attempts.count} failed attempts, last: ${verdict.failed_attempts.last_error}`);
  if (verdict.why) parts.push(verdict.why);
  parts.push(`silent since ${time(verdict.silent_since)}`);
  return parts.join(' · ');
}

/** The evidence of a history entry, one `key=value` each. */
export function evidenceText(entry) {
  const parts = [];
  for (const [key, value] of Object.entries(entry.evidence ?? {})) {
    if (value === null || value === undefined || (Array.isArray(value) && value.length === 0)) continue;
    parts.push(`${key}=${Array.isArray(value) ? value.join(',') : typeof value === 'object' ? JSON.stringify(value) : value}`);
  }
  return parts.join(' · ');
}

/** What a history entry says beyond its kind and reason: the verdict first, then the evidence. */
export const summary = (entry) => [verdictText(entry), evidenceText(entry)].filter(Boolean).join(' · ');

/**
 * One host: its facts, maintenance on and off, a health check, and its history newest first.
 * `page` tells the app about changes (`onChanged(instance)`) and failures (`onFailure(error)`).
 */
export class HostPage {
  constructor(root, app) {
    this.root = root;
    this.app = app;
    this.id = undefined;
    this.instance = undefined;
    this.nextHistory = null;
    this.history = root.querySelector('#history-table tbody');
    this.more = root.querySelector('#history-more');
    this.more.addEventListener('click', () => void this.loadHistory(false));
    root.querySelector('#maintenance-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const hours = Number(root.querySelector('#maintenance-hours').value);
      const reason = root.querySelector('#maintenance-reason').value.trim() || 'maintenance';
      void this.change('PATCH', '', { maintenance_until: new Date(Date.now() + hours * 3_600_000).toISOString(), maintenance_reason: reason });
    });
    root.querySelector('#maintenance-off').addEventListener('click', () => void this.change('PATCH', '', { maintenance_until: null }));
    root.querySelector('#health-check').addEventListener('click', () => void this.change('POST', 'health_check/'));
  }

  async open(id) {
    this.id = id;
    this.instance = undefined;
    this.root.querySelector('#host-title').textContent = `Host ${id}`;
    this.history.replaceChildren();
    try {
      this.show(await call('GET', `/api/v2/instances/${id}/`));
      await this.loadHistory(true);
    } catch (error) {
      this.app.onFailure(error);
    }
  }

  close() {
    this.id = undefined;
  }

  /** A transition or an instance change for this host: reread it. */
  async refresh() {
    if (this.id === undefined) return;
    try {
      this.show(await call('GET', `/api/v2/instances/${this.id}/`));
      await this.loadHistory(true);
    } catch (error) {
      this.app.onFailure(error);
    }
  }

  async change(method, suffix, body) {
    try {
      const answer = await call(method, `/api/v2/instances/${this.id}/${suffix}`, body);
      if (answer?.msg) this.app.onNotice(answer.msg);
      const instance = answer?.id === this.id ? answer : await call('GET', `/api/v2/instances/${this.id}/`);
      this.show(instance);
      this.app.onChanged(instance);
    } catch (error) {
      this.app.onFailure(error);
    }
  }

  show(instance) {
    this.instance = instance;
    const row = this.app.fleet.row(instance);
    this.root.querySelector('#host-title').textContent = instance.hostname;
    const facts = [
      ['Cluster', row.cluster],
      ['Status', `${row.status}${row.reason ? ` (${row.reason})` : ''}`],
      ['Node state', instance.node_state],
      ['Last heartbeat', row.heartbeat ? `${time(new Date(row.heartbeat).toISOString())} (${age(Date.now() - row.heartbeat)})` : '—'],
      ['Capacity', `${instance.consumed_capacity} of ${instance.capacity} used (${instance.percent_capacity_remaining}% left)`],
      ['CPU', instance.cpu],
      ['Memory', bytes(instance.memory)],
      ['Health checks', instance.errors || (instance.last_health_check ? 'passing' : '—')],
      ['Last health check', time(instance.last_health_check)],
      ['Agent event-loop lag', row.lag === undefined ? '—' : `${Math.round(row.lag)} ms`],
      ['Agent version', instance.version || '—'],
      ['Address', instance.ip_address || '—'],
      ['Labels', row.labels.join(' ') || '—'],
      ['Enabled', instance.enabled ? 'yes' : 'no'],
      ['UUID', instance.uuid],
    ];
    this.root.querySelector('#host-facts').replaceChildren(...facts.flatMap(([name, value]) => [el('dt', { text: name }), el('dd', { text: String(value), 'data-fact': name })]));
    this.heartbeat = row.heartbeat;
    const until = instance.maintenance_until ? ` until ${time(instance.maintenance_until)}` : '';
    const why = instance.maintenance_reason ? `: ${instance.maintenance_reason}` : '';
    this.root.querySelector('#maintenance-state').textContent = row.maintenance ? `In maintenance${until}${why}` : 'Not in maintenance';
    this.root.querySelector('#maintenance-on').hidden = row.maintenance;
    this.root.querySelector('#maintenance-off').hidden = !row.maintenance;
  }

  /** The last heartbeat's age, every second. */
  tick() {
    const cell = this.id === undefined ? null : this.root.querySelector('[data-fact="Last heartbeat"]');
    if (cell && this.heartbeat) cell.textContent = `${time(new Date(this.heartbeat).toISOString())} (${age(Date.now() - this.heartbeat)})`;
  }

  async loadHistory(first) {
    const id = this.id;
    const path = first ? `/api/v2/instances/${id}/history/?page_size=${HISTORY_PAGE}` : this.nextHistory;
    if (!path) return;
    let page;
    try {
      page = await call('GET', path);
    } catch (error) {
      if (!(error instanceof ApiFailure && error.status === 404)) this.app.onFailure(error);
      return;
    }
    if (id !== this.id) return;
    const rows = page.results.map((entry) =>
      el(
        'tr',
        { 'data-kind': entry.kind },
        el('td', { text: String(entry.id) }),
        el('td', { text: time(entry.recorded_at) }),
        el('td', { text: entry.kind }),
        el('td', { text: entry.reason ?? '' }),
        el('td', { class: 'mono', text: entry.node_id ? entry.node_id.slice(0, 8) : '', title: entry.node_id ?? undefined }),
        el('td', { class: 'evidence' }, entry.verdict ? el('strong', { class: 'verdict', text: verdictText(entry) }) : undefined, entry.verdict ? el('br') : undefined, evidenceText(entry)),
      ),
    );
    if (first) this.history.replaceChildren(...rows);
    else this.history.append(...rows);
    this.nextHistory = page.next;
    this.more.hidden = !page.next;
  }
}
