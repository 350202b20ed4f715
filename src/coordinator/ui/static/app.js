import { ApiFailure, action, call, listAll, listClusters, roleOf, session } from './api.js';
import { Fleet } from './fleet.js';
import { HostPage } from './host-page.js';
import { NodeTable } from './node-table.js';
import { prependTransition, renderClusters, renderHolds, renderMonitorEvents } from './panels.js';
import { followWatch } from './sse.js';

const $ = (selector) => document.querySelector(selector);

/** How often the page rereads what the watch stream does not carry (heartbeat times, holds' figures, monitor events). */
const REFRESH = { nodesMs: 5_000, instancesMs: 30_000, holdsMs: 5_000, eventsMs: 10_000 };
/** More changed hosts than this at once (a mass termination) are reread with one listing. */
const REREAD_ONE_BY_ONE = 100;

/**
 * The page: sign-in, the fleet (clusters, node table, holds, timelines) and one host's page.
 * Live from the watch stream; a `resync` (or a reconnect too late to resume) lists everything again.
 */
class App {
  constructor() {
    this.fleet = new Fleet();
    this.role = undefined;
    this.selected = undefined;
    this.session = undefined;
    this.dirty = new Set();
    /** Hostnames the stream named (a registration's evidence) before the host was listed. */
    this.hostnames = new Map();
    this.table = new NodeTable($('#fleet-view'));
    this.host = new HostPage($('#host-view'), this);
    this.noticeTimer = undefined;
    this.renderQueued = false;
    this.pressed = false;
    this.renderWaiting = false;
    this.holdsShown = undefined;
  }

  start() {
    $('#signin-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const input = $('#token');
      void this.signIn(input.value.trim());
    });
    $('#sign-out').addEventListener('click', () => this.signOut());
    window.addEventListener('hashchange', () => this.route());
    // A click is lost when its target is replaced between the press and the release: no re-render meanwhile.
    document.addEventListener('pointerdown', () => (this.pressed = true), true);
    for (const type of ['pointerup', 'pointercancel']) {
      document.addEventListener(type, () => {
        this.pressed = false;
        if (this.renderWaiting) this.render();
      }, true);
    }
    const kept = session.token();
    if (kept) void this.signIn(kept);
  }

  async signIn(token) {
    const error = $('#signin-error');
    error.hidden = true;
    let role;
    try {
      role = await roleOf(token);
    } catch (failure) {
      error.textContent =
        failure instanceof ApiFailure && failure.status === 401
          ? 'Token refused: unknown, revoked or mistyped (401).'
          : failure instanceof ApiFailure && failure.status === 403
            ? 'This token may not read the fleet: sign in with an admin or reader token (403).'
            : `Sign-in failed: ${failure.message}`;
      error.hidden = false;
      session.forget();
      return;
    }
    session.keep(token);
    $('#token').value = '';
    this.role = role;
    document.body.dataset.role = this.role;
    $('#role').textContent = this.role === 'admin' ? 'admin' : 'reader (read only)';
    for (const element of [$('#role'), $('#sign-out'), $('#stream-state')]) element.hidden = false;
    $('#signin-view').hidden = true;
    this.applyRole(document);
    const controller = new AbortController();
    this.session = { controller, timers: [] };
    void followWatch(session.token, {
      onEvent: (item) => this.onStreamEvent(item),
      onState: (state, detail) => this.streamState(state, detail),
      onFatal: (status) => this.signOut(`The watch stream refused the token (${status}): sign in again.`),
    }, controller.signal);
    this.route();
    await this.loadAll();
    const every = (ms, task) => this.session?.timers.push(setInterval(() => void task(), ms));
    every(1_000, () => {
      this.table.tick();
      this.host.tick();
    });
    every(REFRESH.nodesMs, async () => {
      await Promise.all([this.refreshClusters(), this.refreshNodes()]);
      this.render();
    });
    every(REFRESH.instancesMs, () => this.loadAll());
    every(REFRESH.holdsMs, () => this.refreshHolds());
    every(REFRESH.eventsMs, () => this.refreshEvents());
  }

  signOut(message) {
    session.forget();
    if (this.session) {
      this.session.controller.abort();
      for (const timer of this.session.timers) clearInterval(timer);
    }
    this.session = undefined;
    this.role = undefined;
    this.holdsShown = undefined;
    delete document.body.dataset.role;
    this.fleet = new Fleet();
    for (const element of [$('#role'), $('#sign-out'), $('#stream-state'), $('#fleet-view'), $('#host-view')]) element.hidden = true;
    $('#signin-view').hidden = false;
    const error = $('#signin-error');
    error.textContent = message ?? '';
    error.hidden = !message;
  }

  /** A reader sees every button that changes something, disabled: the API would refuse it (403). */
  applyRole(root) {
    for (const button of root.querySelectorAll('.change')) {
      button.disabled = this.role !== 'admin';
      button.title = this.role === 'admin' ? '' : 'Needs an admin token';
    }
  }

  route() {
    if (!this.session) return;
    const host = /^#host\/([0-9]+)$/.exec(location.hash);
    $('#fleet-view').hidden = Boolean(host);
    $('#host-view').hidden = !host;
    if (host) void this.host.open(Number(host[1]));
    else {
      this.host.close();
      this.render();
    }
  }

  async loadAll() {
    try {
      await this.refreshClusters();
      this.fleet.replaceInstances(await listAll('/api/v2/instances/'));
      await this.refreshNodes();
    } catch (error) {
      this.onFailure(error);
    }
    this.render();
    await Promise.all([this.refreshHolds(), this.refreshEvents()]);
  }

  /** Admins also read the clusters API: clusters without hosts yet, and the regions their agents report. */
  async refreshClusters() {
    if (this.role !== 'admin') return;
    try {
      this.fleet.setClusters(await listClusters(await call('POST', '/runtime/api/v1/clusters', { limit: 100 })));
    } catch (error) {
      this.onFailure(error);
    }
  }

  /** Each cluster's Active nodes: their heartbeat times are fresher than the instance list's. */
  async refreshNodes() {
    await Promise.all(
      [...this.fleet.clusterNames].map(async (cluster) => {
        try {
          this.fleet.setActiveNodes(cluster, (await action('cluster_GetDetails', { cluster })).nodes);
        } catch (error) {
          this.onFailure(error);
        }
      }),
    );
  }

  async refreshHolds() {
    let readiness;
    try {
      // The probe needs no token; 503 (not ready) carries the same body.
      readiness = await (await fetch('/readyz', { cache: 'no-store' })).json();
    } catch {
      readiness = undefined;
    }
    // Unchanged holds keep their elements (a Lift hold button being clicked stays the same).
    const shown = JSON.stringify(readiness?.holds ?? null);
    if (shown === this.holdsShown) return;
    this.holdsShown = shown;
    renderHolds($('#hold-list'), readiness, (button) => void this.lift(button));
    this.applyRole($('#hold-list'));
  }

  async refreshEvents() {
    try {
      renderMonitorEvents($('#event-list'), await call('GET', '/v0/cluster/events'));
    } catch (error) {
      this.onFailure(error);
    }
  }

  async lift(button) {
    button.disabled = true;
    try {
      const lift = await action('coordinator_LiftSafetyHolds');
      const released = lift.clustersReleased.length > 0 ? `terminations released in ${lift.clustersReleased.join(', ')}` : 'no cluster was held';
      this.onNotice(`Holds lifted: ${released}${lift.graceLifted ? '; timeout grace ended' : ''}.`);
    } catch (error) {
      this.onFailure(error);
    }
    this.holdsShown = undefined;
    await this.refreshHolds();
  }

  onStreamEvent(item) {
    let entry;
    try {
      entry = JSON.parse(item.data);
    } catch {
      return;
    }
    if (item.type === 'resync') {
      this.onNotice(`The watch stream asks for a fresh list (${entry.reason}): reloading.`);
      this.fleet.clearStreamed();
      void this.loadAll();
      return;
    }
    const instance = entry.instance_id === null ? undefined : this.fleet.instances.get(entry.instance_id);
    if (entry.instance_id !== null && entry.evidence?.hostname) this.hostnames.set(entry.instance_id, entry.evidence.hostname);
    const where = entry.instance_id === null ? this.fleet.clusterName(entry.cluster_id) : (instance?.hostname ?? this.hostnames.get(entry.instance_id));
    prependTransition($('#transition-list'), entry, where);
    if (item.type === 'hold-started' || item.type === 'hold-ended') void this.refreshHolds();
    if (item.type === 'monitor-status-changed') void this.refreshEvents();
    if (entry.instance_id !== null) {
      this.fleet.applyTransition(entry);
      this.dirty.add(entry.instance_id);
      if (this.dirty.size === 1) setTimeout(() => void this.rereadDirty(), 200);
      this.render();
    }
  }

  /** Rereads the hosts the stream named: one by one, or all at once when many changed. */
  async rereadDirty() {
    const ids = [...this.dirty];
    this.dirty.clear();
    if (ids.length > REREAD_ONE_BY_ONE) return void (await this.loadAll());
    await Promise.all(
      ids.map(async (id) => {
        try {
          this.fleet.putInstance(await call('GET', `/api/v2/instances/${id}/`));
        } catch (error) {
          if (error instanceof ApiFailure && error.status === 404) this.fleet.instances.delete(id);
          else this.onFailure(error);
        }
      }),
    );
    this.render();
    if (this.host.id !== undefined && ids.includes(this.host.id)) await this.host.refresh();
  }

  onChanged(instance) {
    this.fleet.putInstance(instance);
    this.render();
  }

  /** Renders the clusters and the node table once per frame at most, however many events arrive. */
  render() {
    this.renderWaiting = this.pressed;
    if (this.pressed || this.renderQueued || !this.session) return;
    this.renderQueued = true;
    requestAnimationFrame(() => {
      this.renderQueued = false;
      if (!this.session) return;
      if (this.pressed) return void (this.renderWaiting = true);
      const counts = this.fleet.counts();
      if (this.selected === undefined || !counts.has(this.selected)) this.selected = counts.has('default') ? 'default' : [...counts.keys()][0];
      renderClusters($('#cluster-list'), counts, this.fleet.clusterInfo, this.selected, (name) => {
        this.selected = name;
        this.render();
      });
      $('#nodes-title').textContent = this.selected ? `Nodes in ${this.selected}` : 'Nodes';
      this.table.render(this.fleet.rows(this.selected));
    });
  }

  streamState(state, detail) {
    const badge = $('#stream-state');
    badge.dataset.state = state;
    badge.textContent = state === 'live' ? 'live' : state === 'connecting' ? 'connecting…' : 'reconnecting…';
    badge.title = detail ?? '';
  }

  onNotice(text, tone = 'info') {
    const notice = $('#notice');
    notice.textContent = text;
    notice.dataset.tone = tone;
    notice.hidden = false;
    clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => (notice.hidden = true), tone === 'error' ? 20_000 : 8_000);
  }

  onFailure(error) {
    if (error instanceof ApiFailure && error.status === 401) return this.signOut('The token is no longer accepted (401): sign in again.');
    this.onNotice(error instanceof ApiFailure ? error.describe() : `Failed: ${error.message}`, 'error');
  }
}

new App().start();
