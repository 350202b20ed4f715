import { age, bar, bytes, count, el } from './format.js';

/** Rows on one page: the table stays a few hundred elements however large the fleet. */
export const PAGE_SIZE = 200;

const STATUS_ORDER = { Active: 0, Terminated: 2 };

/** What each sortable column sorts by. */
const SORT_KEYS = {
  hostname: (row) => row.hostname,
  status: (row) => `${STATUS_ORDER[row.status] ?? 1}${row.maintenance ? 0 : 1}${row.status}`,
  heartbeat: (row) => -(row.heartbeat ?? -Infinity),
  capacity: (row) => (row.capacity ? row.consumed / row.capacity : -1),
  memory: (row) => row.memory,
  health: (row) => -row.failing.length,
  labels: (row) => row.labels.join(' '),
  lag: (row) => row.lag ?? -1,
};

const matches = (row, needle) =>
  !needle ||
  [row.hostname, row.status, row.reason, row.maintenance ? 'maintenance' : '', ...row.labels, ...row.failing, row.instance.ip_address, row.instance.version]
    .some((text) => text && text.toLowerCase().includes(needle));

/**
 * The node table of one cluster: filter, sort by a column (click its header; again for the
 * other direction), pages of PAGE_SIZE rows. Heartbeat ages tick every second without a re-render.
 */
export class NodeTable {
  constructor(root) {
    this.table = root.querySelector('#node-table');
    this.body = this.table.querySelector('tbody');
    this.range = root.querySelector('#row-range');
    this.empty = root.querySelector('#no-rows');
    this.prev = root.querySelector('#page-prev');
    this.next = root.querySelector('#page-next');
    this.filterInput = root.querySelector('#filter');
    this.sort = { key: 'hostname', direction: 1 };
    this.page = 0;
    this.filter = '';
    this.ages = [];
    this.rows = [];
    for (const header of this.table.querySelectorAll('th[data-sort]')) {
      header.querySelector('button').addEventListener('click', () => this.sortBy(header.dataset.sort));
    }
    let typing;
    this.filterInput.addEventListener('input', () => {
      clearTimeout(typing);
      typing = setTimeout(() => {
        this.filter = this.filterInput.value.trim().toLowerCase();
        this.page = 0;
        this.render(this.rows);
      }, 120);
    });
    this.prev.addEventListener('click', () => this.turn(-1));
    this.next.addEventListener('click', () => this.turn(1));
  }

  sortBy(key) {
    this.sort = { key, direction: this.sort.key === key ? -this.sort.direction : 1 };
    for (const header of this.table.querySelectorAll('th[data-sort]')) {
      if (header.dataset.sort === key) header.setAttribute('aria-sort', this.sort.direction === 1 ? 'ascending' : 'descending');
      else header.removeAttribute('aria-sort');
    }
    this.render(this.rows);
  }

  turn(step) {
    this.page += step;
    this.render(this.rows);
  }

  /** Renders the page of `rows` that the filter, the sort and the page number select. */
  render(rows) {
    this.rows = rows;
    const key = SORT_KEYS[this.sort.key];
    const direction = this.sort.direction;
    const shown = rows
      .filter((row) => matches(row, this.filter))
      .map((row) => ({ row, by: key(row) }))
      .sort((a, b) => (a.by < b.by ? -direction : a.by > b.by ? direction : a.row.hostname.localeCompare(b.row.hostname)))
      .map(({ row }) => row);
    const pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
    this.page = Math.min(Math.max(0, this.page), pages - 1);
    const start = this.page * PAGE_SIZE;
    const slice = shown.slice(start, start + PAGE_SIZE);
    const largestMemory = Math.max(1, ...slice.map((row) => row.memory));
    // The column shows only when some row on the page has labels (agents without any leave it empty).
    this.table.classList.toggle('no-labels', !slice.some((row) => row.labels.length > 0));
    this.ages = [];
    this.body.replaceChildren(...slice.map((row) => this.rowElement(row, largestMemory)));
    this.empty.hidden = slice.length > 0;
    this.range.textContent = shown.length === 0 ? '' : `${count(start + 1)}–${count(start + slice.length)} of ${count(shown.length)}`;
    this.prev.disabled = this.page === 0;
    this.next.disabled = this.page >= pages - 1;
    this.tick();
  }

  rowElement(row, largestMemory) {
    const ageCell = el('td', { class: 'age' });
    this.ages.push({ cell: ageCell, at: row.heartbeat });
    const link = el('a', { href: `#host/${row.id}`, text: row.hostname });
    const status = el('td', { class: 'status' }, el('span', { class: `badge ${row.status.toLowerCase().replace(/\s+/g, '-')}`, text: row.status }));
    if (row.reason) status.append(el('span', { class: 'reason', text: ` ${row.reason}` }));
    if (row.maintenance) status.append(' ', el('span', { class: 'badge maintenance', text: 'maintenance' }));
    if (!row.enabled) status.append(' ', el('span', { class: 'badge disabled', text: 'disabled' }));
    const used = row.capacity ? row.consumed / row.capacity : 0;
    const health = el('td', { class: 'health' });
    if (row.failing.length > 0) health.append(el('span', { class: 'failing', text: row.failing.join('; '), title: row.failing.join('\n') }));
    else health.append(el('span', { class: 'passing', text: row.instance.last_health_check ? 'passing' : '—' }));
    if (row.pending) health.append(el('span', { class: 'muted', text: ' (check pending)' }));
    const lag = row.lag === undefined ? '—' : `${Math.round(row.lag)} ms`;
    return el(
      'tr',
      { 'data-host': row.hostname, 'data-status': row.status },
      el('td', {}, link),
      status,
      ageCell,
      el('td', {}, row.capacity ? bar(used, `${row.consumed} of ${row.capacity} used`, used > 0.9 ? 'high' : '') : el('span', { class: 'muted', text: '0' })),
      el('td', {}, row.memory ? bar(row.memory / largestMemory, bytes(row.memory)) : el('span', { class: 'muted', text: '—' })),
      health,
      el('td', { class: 'labels', text: row.labels.join(' ') }),
      el('td', { class: row.lag >= 1000 ? 'lag high' : 'lag', text: lag }),
    );
  }

  /** Updates the heartbeat ages of the rows shown. */
  tick() {
    const now = Date.now();
    for (const { cell, at } of this.ages) cell.textContent = age(at === undefined ? undefined : now - at);
  }
}
