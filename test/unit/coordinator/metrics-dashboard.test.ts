import { readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import YAML from 'yaml';
import { resolveTimeouts } from '../../../src/coordinator/config.ts';
import { registerWebhookMetrics } from '../../../src/coordinator/webhooks/webhook-metrics.ts';
import { ADMIN, ENROLL, type Harness, startHarness } from '../../helpers/coordinator-harness.ts';

const ALERTS_FILE = new URL('../../../deploy/prometheus/nodepulse-alerts.yaml', import.meta.url);
const DASHBOARD_FILE = new URL('../../../deploy/grafana/nodepulse-dashboard.json', import.meta.url);
const HEARTBEAT = 'cluster_ReportNodeHeartbeat';

interface Scrape {
  text: string;
  /** Metric family names by their `# TYPE` line. */
  types: Map<string, string>;
  /** The value of one sample, written as it appears (`name{labels}`), undefined when absent. */
  sample: (series: string) => number | undefined;
}

function parseScrape(text: string): Scrape {
  const types = new Map<string, string>();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    const sample = /^([^#\s][^ ]*) (\S+)$/.exec(line);
    if (sample) samples.set(sample[1]!, Number(sample[2]));
  }
  return { text, types, sample: (series) => samples.get(series) };
}

/**
 * The metric names a PromQL expression reads, parsed loosely: string literals dropped, then every
 * identifier of nodepulse's own or Node's standard metrics. A histogram's `_bucket`, `_sum` and
 * `_count` series count as their histogram.
 */
function metricNames(expr: string, types: ReadonlyMap<string, string>): string[] {
  const code = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const names = code.match(/[A-Za-z_:][A-Za-z0-9_:]*/g) ?? [];
  return names
    .filter((name) => /^(nodepulse_|process_|nodejs_)/.test(name))
    .map((name) => {
      const base = name.replace(/_(bucket|sum|count)$/, '');
      return base !== name && types.get(base) === 'histogram' ? base : name;
    });
}

/** Every PromQL expression of the dashboard: each panel's targets (rows included) and the template variables' queries. */
function dashboardExprs(dashboard: any): string[] {
  const panels = (dashboard.panels as any[]).flatMap((panel) => [panel, ...(panel.panels ?? [])]);
  const targets = panels.flatMap((panel) => (panel.targets ?? []).map((target: any) => target.expr as string));
  const variables = (dashboard.templating?.list ?? []).filter((variable: any) => variable.type === 'query').map((variable: any) => variable.definition as string);
  return [...targets, ...variables];
}

/**
 * Whether the coordinator serves that metric. The webhook metrics join its registry only when
 * sinks are configured (coordinator.ts): theirs are the names that registration serves.
 */
async function servedBy(h: Harness, scrape: Scrape): Promise<(name: string) => boolean> {
  const webhooks = new Registry();
  registerWebhookMetrics(webhooks, { outbox: h.store.webhookOutbox, sinks: ['pager'] });
  const webhookTypes = parseScrape(await webhooks.metrics()).types;
  return (name) => (name.startsWith('nodepulse_webhook_') ? webhookTypes.has(name) : scrape.types.has(name));
}

describe('the metrics an operator reads, and the dashboard and alert rules that read them', () => {
  let h: Harness;
  let scrape: Scrape;
  let served: (name: string) => boolean;
  let heartbeatAt: number;
  let timeoutMs: number;

  // One story through the agent protocol: registrations (new, an agent restart, a clone), heartbeats,
  // a Shutdown, a heartbeat of that Terminated node, a timeout, and an operator request.
  beforeAll(async () => {
    h = await startHarness();
    timeoutMs = resolveTimeouts(h.config).timeoutMs;
    h.passGrace();
    const silent = await h.register({ identity: 'web-1', hostname: 'web-1', bootId: 'boot-1' });
    const leaving = await h.register({ identity: 'web-2', hostname: 'web-2', bootId: 'boot-1' });
    await h.register({ identity: 'db-1', hostname: 'db-1', bootId: 'boot-1' });
    // The agent on db-1 restarted (same boot): its new registration supersedes its Active node.
    const live = await h.register({ identity: 'db-1', hostname: 'db-1', bootId: 'boot-1' });
    // A cloned VM: same identity, another boot, while the original heartbeats.
    expect((await h.call('cluster_RegisterNode', ENROLL, { identity: 'db-1', hostname: 'db-1', bootId: 'boot-2' })).status).toBe(409);

    heartbeatAt = h.clock.now();
    expect((await h.call(HEARTBEAT, silent.nodeToken, {})).status).toBe(200);
    expect((await h.call(HEARTBEAT, live.nodeToken, {})).status).toBe(200);
    expect((await h.call('cluster_DeregisterNode', leaving.nodeToken, {})).status).toBe(200);
    expect((await h.call(HEARTBEAT, leaving.nodeToken, {})).status).toBe(410);
    // db-1 keeps heartbeating; web-1 falls silent and is timed out 5 s past its deadline.
    while (h.clock.now() < heartbeatAt + timeoutMs + 5_000) {
      h.clock.advance(5_000);
      expect((await h.call(HEARTBEAT, live.nodeToken, {})).status).toBe(200);
    }
    expect((await h.coordinator.sweeper.sweep()).terminated).toHaveLength(1);
    expect((await h.coordinator.app.inject({ method: 'GET', url: '/api/v2/instances/1/', headers: { authorization: `Bearer ${ADMIN}` } })).statusCode).toBe(200);

    // The fleet counts learn of the timeout from the store, a moment after the sweep.
    await vi.waitFor(
      async () => {
        const response = await h.coordinator.app.inject({ method: 'GET', url: '/metrics' });
        expect(response.statusCode).toBe(200);
        scrape = parseScrape(response.body);
        expect(scrape.sample('nodepulse_instances{cluster="default",state="timed_out"}')).toBe(1);
      },
      { timeout: 10_000, interval: 20 },
    );
    served = await servedBy(h, scrape);
  });
  afterAll(async () => h?.close());

  it('counts terminations by every reason: the timeout, the Shutdown and the superseded node', () => {
    expect(scrape.sample('nodepulse_terminations_total{reason="HeartbeatTimeout"}')).toBe(1);
    expect(scrape.sample('nodepulse_terminations_total{reason="Shutdown"}')).toBe(1);
    expect(scrape.sample('nodepulse_terminations_total{reason="Unknown"}')).toBe(1);
  });

  it('counts registrations by outcome and heartbeats by outcome', () => {
    expect(scrape.sample('nodepulse_registrations_total{outcome="new"}')).toBe(3);
    expect(scrape.sample('nodepulse_registrations_total{outcome="superseded"}')).toBe(1);
    expect(scrape.sample('nodepulse_registrations_total{outcome="duplicate_identity"}')).toBe(1);
    expect(scrape.sample('nodepulse_registrations_total{outcome="hostname_in_use"}')).toBe(0);
    const beats = 2 + (timeoutMs + 5_000) / 5_000;
    expect(scrape.sample('nodepulse_heartbeats_total{outcome="accepted"}')).toBe(beats);
    expect(scrape.sample('nodepulse_heartbeats_total{outcome="terminated"}')).toBe(1);
  });

  it('observes the detection delay from the silent node’s deadline to its termination', () => {
    expect(scrape.types.get('nodepulse_detection_delay_seconds')).toBe('histogram');
    expect(scrape.sample('nodepulse_detection_delay_seconds_count')).toBe(1);
    expect(scrape.sample('nodepulse_detection_delay_seconds_sum')).toBe(5);
    expect(scrape.sample('nodepulse_detection_delay_seconds_bucket{le="2"}')).toBe(0);
    expect(scrape.sample('nodepulse_detection_delay_seconds_bucket{le="5"}')).toBe(1);
    expect(scrape.types.get('nodepulse_sweep_duration_seconds')).toBe('histogram');
    expect(scrape.sample('nodepulse_sweep_duration_seconds_count')).toBeGreaterThanOrEqual(1);
  });

  it('shows each cluster’s hosts by state from the fleet counts', () => {
    expect(scrape.sample('nodepulse_instances{cluster="default",state="running"}')).toBe(1);
    expect(scrape.sample('nodepulse_instances{cluster="default",state="timed_out"}')).toBe(1);
    expect(scrape.sample('nodepulse_instances{cluster="default",state="stopped"}')).toBe(1);
    expect(scrape.sample('nodepulse_ready')).toBe(1);
    expect(scrape.sample('nodepulse_store_up')).toBe(1);
  });

  it('times requests by route pattern, method and status class, never by raw URL', () => {
    const name = 'nodepulse_http_request_duration_seconds';
    expect(scrape.types.get(name)).toBe('histogram');
    expect(scrape.sample(`${name}_count{route="/api/v1/actions/invoke/${HEARTBEAT}",method="POST",status_class="2xx"}`)).toBe(
      scrape.sample('nodepulse_heartbeats_total{outcome="accepted"}'),
    );
    expect(scrape.sample(`${name}_count{route="/api/v1/actions/invoke/${HEARTBEAT}",method="POST",status_class="4xx"}`)).toBe(1);
    expect(scrape.sample(`${name}_count{route="/api/v2/instances/:id/",method="GET",status_class="2xx"}`)).toBe(1);
    const routes = new Set([...scrape.text.matchAll(/route="([^"]*)"/g)].map((match) => match[1]!));
    expect(routes.size).toBeGreaterThan(0);
    for (const route of routes) expect(route, 'a route pattern, not a request path').not.toMatch(/\/\d+(\/|$)/);
    expect(scrape.sample('nodepulse_http_errors_total{code="DuplicateIdentity"}')).toBe(1);
    expect(scrape.sample('nodepulse_http_errors_total{code="NodeTerminated"}')).toBe(1);
  });

  it('serves Node’s process metrics under their standard names', () => {
    expect(scrape.types.get('process_cpu_user_seconds_total')).toBe('counter');
    expect(scrape.types.get('nodejs_eventloop_lag_p99_seconds')).toBe('gauge');
    expect(scrape.text).not.toMatch(/^nodepulse_(process|nodejs)_/m);
  });

  it('serves every metric the Grafana dashboard queries', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8'));
    expect(dashboard).toMatchObject({ uid: expect.any(String), title: expect.any(String), panels: expect.any(Array) });
    const exprs = dashboardExprs(dashboard);
    const names = new Set(exprs.flatMap((expr) => metricNames(expr, scrape.types)));
    expect(names).toContain('nodepulse_terminations_total');
    expect(names).toContain('nodepulse_detection_delay_seconds');
    expect(names).toContain('nodepulse_webhook_outbox_depth');
    expect([...names].filter((name) => !served(name))).toEqual([]);
  });

  it('has alert rules Prometheus can load, each reading only metrics the coordinator serves', () => {
    const rules = YAML.parse(readFileSync(ALERTS_FILE, 'utf8'));
    expect(rules.groups.length).toBeGreaterThan(0);
    const alerts = new Set<string>();
    const names = new Set<string>();
    for (const group of rules.groups) {
      expect(group.name, 'every group is named').toEqual(expect.any(String));
      expect(group.rules.length).toBeGreaterThan(0);
      for (const rule of group.rules) {
        expect(Object.keys(rule).sort()).toEqual(['alert', 'annotations', 'expr', 'for', 'labels']);
        expect(rule.alert).toMatch(/^Nodepulse[A-Z][A-Za-z]+$/);
        expect(alerts.has(rule.alert), `${rule.alert} is defined once`).toBe(false);
        alerts.add(rule.alert);
        expect(rule.expr).toEqual(expect.any(String));
        expect(rule.for).toMatch(/^\d+[smh]$/);
        expect(['critical', 'warning']).toContain(rule.labels.severity);
        expect(rule.annotations).toEqual({ summary: expect.any(String), description: expect.any(String) });
        for (const name of metricNames(rule.expr, scrape.types)) names.add(name);
      }
    }
    for (const alert of ['NodepulseNodesTimedOut', 'NodepulseCoordinatorDown', 'NodepulseNotReady', 'NodepulseMassSilenceHold', 'NodepulseSweepOverdue', 'NodepulseStoreErrors', 'NodepulseWebhookBacklog']) {
      expect(alerts).toContain(alert);
    }
    expect(names).toContain('nodepulse_terminations_total');
    expect([...names].filter((name) => !served(name))).toEqual([]);
  });
});

describe('readiness in /metrics', () => {
  let h: Harness;
  afterAll(async () => h?.close());

  it('shows the store down and the replica not ready while the store does not answer, and still serves the rest', async () => {
    h = await startHarness();
    const ping = vi.spyOn(h.store, 'ping').mockRejectedValue(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    const down = parseScrape((await h.coordinator.app.inject({ method: 'GET', url: '/metrics' })).body);
    expect(down.sample('nodepulse_store_up')).toBe(0);
    expect(down.sample('nodepulse_ready')).toBe(0);
    expect(down.sample('nodepulse_sweeper_leader')).toBe(1);
    ping.mockRestore();
    const up = parseScrape((await h.coordinator.app.inject({ method: 'GET', url: '/metrics' })).body);
    expect(up.sample('nodepulse_store_up')).toBe(1);
    expect(up.sample('nodepulse_ready')).toBe(1);
  });
});
