import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN, ENROLL, type Harness, READER, startHarness } from '../../helpers/coordinator-harness.ts';
import { FACTS, request } from './instances-helpers.ts';

const DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/** Seed 002: every field with its type (null allowed where the value may be unknown yet). */
const FIELD_TYPES: Record<string, string> = {
  id: 'integer', hostname: 'string', type: 'string', url: 'string', related: 'object', summary_fields: 'object', uuid: 'string',
  created: 'date', modified: 'date', last_seen: 'date|null', health_check_started: 'date|null', health_check_pending: 'boolean',
  last_health_check: 'date|null', errors: 'string', capacity_adjustment: 'decimal', version: 'string', capacity: 'integer',
  consumed_capacity: 'integer', percent_capacity_remaining: 'number', jobs_running: 'integer', jobs_total: 'integer', cpu: 'decimal',
  memory: 'integer', cpu_capacity: 'integer', mem_capacity: 'integer', enabled: 'boolean', managed_by_policy: 'boolean',
  node_type: 'string', node_state: 'string', ip_address: 'string', listener_port: 'integer|null', peers: 'array',
  peers_from_control_nodes: 'boolean',
  // nodepulse's own, beside seed 002's: planned downtime.
  maintenance_until: 'date|null', maintenance_reason: 'string', maintenance: 'boolean', labels: 'object',
};

function typeProblems(record: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const [field, expected] of Object.entries(FIELD_TYPES)) {
    const value = record[field];
    const ok = expected.split('|').some((kind) => {
      switch (kind) {
        case 'null': return value === null;
        case 'integer': return Number.isInteger(value);
        case 'number': return typeof value === 'number';
        case 'date': return typeof value === 'string' && DATE.test(value);
        case 'decimal': return typeof value === 'string' && /^\d+\.\d+$/.test(value);
        case 'array': return Array.isArray(value);
        case 'object': return typeof value === 'object' && value !== null && !Array.isArray(value);
        default: return typeof value === kind;
      }
    });
    if (!ok) problems.push(`${field}: expected ${expected}, got ${JSON.stringify(value)}`);
  }
  const extra = Object.keys(record).filter((key) => !(key in FIELD_TYPES));
  if (extra.length > 0) problems.push(`unexpected fields ${extra.join(', ')}`);
  return problems;
}

describe('instances API (seeds 002/003)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => h.close());

  it('returns every field of seed 002 with its type, before and after the agent registered', async () => {
    const created = await request(h, 'POST', '/api/v2/instances/', ADMIN, { hostname: 'web-1' });
    expect(created.status).toBe(201);
    expect(typeProblems(created.body)).toEqual([]);
    expect(created.body.labels).toEqual({});
    await h.register({ hostname: 'web-1', facts: FACTS, labels: { rack: 'r12', region: 'eu-west' } });
    const read = await request(h, 'GET', `/api/v2/instances/${created.body.id}/`, READER);
    expect(read.status).toBe(200);
    expect(typeProblems(read.body)).toEqual([]);
    expect(read.body.labels).toEqual({ rack: 'r12', region: 'eu-west' });
    expect(read.body).toMatchObject({ type: 'instance', url: `/api/v2/instances/${created.body.id}/`, summary_fields: { cluster: { name: 'default' } } });
  });

  it('lets an agent claim a pre-created instance by hostname: same id, installed becomes ready', async () => {
    const created = await request(h, 'POST', '/api/v2/instances/', ADMIN, { hostname: 'web-1' });
    expect(created.body).toMatchObject({ node_state: 'installed', last_seen: null, capacity: 0 });
    await h.register({ hostname: 'web-1', facts: FACTS });
    const read = await request(h, 'GET', `/api/v2/instances/${created.body.id}/`);
    expect(read.body).toMatchObject({ id: created.body.id, node_state: 'ready', ip_address: '10.0.0.5', version: '1.2.3', cpu: '4.0', memory: 8_589_934_592 });
    const list = await request(h, 'GET', '/api/v2/instances/');
    expect(list.body.count).toBe(1);
  });

  it('derives capacity from the agent figures and capacity_adjustment, consumed from jobs_running', async () => {
    await h.register({ hostname: 'web-1', facts: FACTS });
    const [instance] = (await request(h, 'GET', '/api/v2/instances/')).body.results;
    expect(instance).toMatchObject({ cpu_capacity: 16, mem_capacity: 80, capacity: 80, jobs_running: 4, consumed_capacity: 4, percent_capacity_remaining: 95 });
    const patched = await request(h, 'PATCH', `/api/v2/instances/${instance.id}/`, ADMIN, { capacity_adjustment: '0.5' });
    expect(patched.body).toMatchObject({ capacity_adjustment: '0.50', capacity: 48, percent_capacity_remaining: 91.67 });
  });

  it('reports 0 jobs and full remaining capacity when the agent reports no jobs', async () => {
    const { jobsRunning: _r, jobsTotal: _t, ...facts } = FACTS;
    await h.register({ hostname: 'web-1', facts });
    const [instance] = (await request(h, 'GET', '/api/v2/instances/')).body.results;
    expect(instance).toMatchObject({ jobs_running: 0, jobs_total: 0, consumed_capacity: 0, percent_capacity_remaining: 100 });
  });

  it('takes last_seen from the newest heartbeat, even one not yet written to the store', async () => {
    const node = await h.register({ hostname: 'web-1' });
    h.clock.advance(7000);
    expect((await h.call('cluster_ReportNodeHeartbeat', node.nodeToken, {})).status).toBe(200);
    const [instance] = (await request(h, 'GET', '/api/v2/instances/')).body.results;
    expect(instance.last_seen).toBe(new Date(h.clock.now()).toISOString());
  });

  it('marks an instance unavailable once its node is gone and deprovisioning while disabled with an Active node', async () => {
    const node = await h.register({ hostname: 'web-1' });
    const [instance] = (await request(h, 'GET', '/api/v2/instances/')).body.results;
    const disabled = await request(h, 'PATCH', `/api/v2/instances/${instance.id}/`, ADMIN, { enabled: false });
    expect(disabled.body).toMatchObject({ enabled: false, node_state: 'deprovisioning' });
    expect((await h.call('cluster_ReportNodeHeartbeat', node.nodeToken, {})).status).toBe(200);
    expect((await h.call('cluster_DeregisterNode', node.nodeToken, {})).status).toBe(200);
    expect((await request(h, 'GET', `/api/v2/instances/${instance.id}/`)).body).toMatchObject({ node_state: 'unavailable', capacity: 0 });
  });

  it('filters by hostname, node_state and enabled, and pages AWX-style', async () => {
    for (let i = 1; i <= 5; i++) await request(h, 'POST', '/api/v2/instances/', ADMIN, { hostname: `h${i}`, enabled: i % 2 === 1 });
    await h.register({ hostname: 'h2' });
    expect((await request(h, 'GET', '/api/v2/instances/?hostname=h3')).body.results.map((i: any) => i.hostname)).toEqual(['h3']);
    expect((await request(h, 'GET', '/api/v2/instances/?node_state=deprovisioning')).body.results.map((i: any) => i.hostname)).toEqual(['h2']);
    expect((await request(h, 'GET', '/api/v2/instances/?enabled=false')).body.count).toBe(2);
    const first = await request(h, 'GET', '/api/v2/instances/?page_size=2');
    expect(first.body).toMatchObject({ count: 5, previous: null });
    expect(first.body.next).toBe('/api/v2/instances/?page=2&page_size=2');
    const last = await request(h, 'GET', '/api/v2/instances/?page=3&page_size=2');
    expect(last.body).toMatchObject({ next: null, previous: '/api/v2/instances/?page=2&page_size=2' });
    expect(last.body.results).toHaveLength(1);
    expect((await request(h, 'GET', '/api/v2/instances/?page=4&page_size=2')).status).toBe(404);
    expect((await request(h, 'GET', '/api/v2/instances/?node_state=sleeping')).status).toBe(400);
  });

  it('accepts the usual boolean spellings for the enabled filter, in any case', async () => {
    for (let i = 1; i <= 3; i++) await request(h, 'POST', '/api/v2/instances/', ADMIN, { hostname: `h${i}`, enabled: i !== 2 });
    const count = async (value: string) => (await request(h, 'GET', `/api/v2/instances/?enabled=${value}`)).body.count;
    for (const value of ['true', 'True', 'TRUE', '1', 't', 'T']) expect(await count(value), value).toBe(2);
    for (const value of ['false', 'False', 'FALSE', '0', 'f', 'F']) expect(await count(value), value).toBe(1);
    for (const value of ['yes', '2', '', 'truth']) {
      const refused = await request(h, 'GET', `/api/v2/instances/?enabled=${value}`);
      expect(refused.status, value).toBe(400);
      expect(refused.body.message).toMatch(/enabled/);
    }
    const page = await request(h, 'GET', '/api/v2/instances/?enabled=True&page_size=1');
    expect(new URL(page.body.next, 'http://x').searchParams.get('enabled')).toBe('True');
    expect((await request(h, 'GET', page.body.next)).body.results.map((i: any) => i.hostname)).toEqual(['h3']);
  });

  it('lets an admin set node_state only while no agent has registered the instance, never to a derived ready or unavailable', async () => {
    const created = (await request(h, 'POST', '/api/v2/instances/', ADMIN, { hostname: 'h8' })).body;
    const url = `/api/v2/instances/${created.id}/`;
    for (const state of ['ready', 'unavailable']) {
      const refused = await request(h, 'PATCH', url, ADMIN, { node_state: state });
      expect(refused.status, state).toBe(400);
      expect(refused.body.details.problems).toEqual([{ path: 'node_state', message: expect.stringContaining(state) }]);
    }
    expect((await request(h, 'PATCH', url, ADMIN, { node_state: 'provision-fail' })).body.node_state).toBe('provision-fail');
    expect((await request(h, 'PATCH', url, ADMIN, { node_state: 'installed' })).body).toMatchObject({ node_state: 'installed', last_seen: null });
    await h.register({ hostname: 'h8' });
    const registered = (await request(h, 'GET', url)).body;
    expect(registered.node_state).toBe('ready');
    // Sending back what was read changes nothing; a different value is refused, naming node_state.
    const roundTrip = await request(h, 'PATCH', url, ADMIN, { node_state: 'ready', enabled: true });
    expect(roundTrip.status).toBe(200);
    expect(roundTrip.body.node_state).toBe('ready');
    const change = await request(h, 'PATCH', url, ADMIN, { node_state: 'provision-fail', enabled: false });
    expect(change.status).toBe(400);
    expect(change.body.details.problems[0].path).toBe('node_state');
    expect((await request(h, 'GET', url)).body).toMatchObject({ node_state: 'ready', enabled: true });
  });

  it('shows in errors each figure behind an instance field the agent could not collect, with its reason, after the failing checks; the numbers stay 0', async () => {
    const { cpu: _c, memory: _m, capacity: _k, ...known } = FACTS;
    const unknown = [
      { figure: 'cpu', reason: 'cpu probe timed out after 5000 ms' },
      { figure: 'memory', reason: 'ENOENT: /proc/meminfo' },
      { figure: 'capacity', reason: 'needs cpu and memory' },
      { figure: 'disk:/data', reason: 'not a mount point' },
    ];
    const node = await h.register({ hostname: 'web-1', facts: { ...known, unknown } });
    const [instance] = (await request(h, 'GET', '/api/v2/instances/')).body.results;
    expect(instance).toMatchObject({ cpu: '0.0', memory: 0, cpu_capacity: 0, mem_capacity: 0, capacity: 0 });
    expect(instance.errors).toBe(['cpu: unknown: cpu probe timed out after 5000 ms', 'memory: unknown: ENOENT: /proc/meminfo', 'capacity: unknown: needs cpu and memory'].join('\n'));
    const health = { status: 'critical', checks: [{ name: 'disk', status: 'critical', output: 'full' }, { name: 'dns', status: 'passing' }] };
    expect((await h.call('cluster_ReportNodeHeartbeat', node.nodeToken, { health })).status).toBe(200);
    const checked = (await request(h, 'GET', `/api/v2/instances/${instance.id}/`)).body;
    expect(checked.errors.split('\n')).toEqual(['disk: critical: full', 'cpu: unknown: cpu probe timed out after 5000 ms', 'memory: unknown: ENOENT: /proc/meminfo', 'capacity: unknown: needs cpu and memory']);
    expect((await request(h, 'GET', `/api/v2/instances/${instance.id}/health_check/`)).body.errors).toBe(checked.errors);
    // Once the agent collects the figures, the lines go.
    expect((await h.call('cluster_ReportNodeHeartbeat', node.nodeToken, { facts: FACTS, health: { status: 'passing', checks: [] } })).status).toBe(200);
    expect((await request(h, 'GET', `/api/v2/instances/${instance.id}/`)).body).toMatchObject({ errors: '', cpu: '4.0', capacity: 80 });
  });

  it('deletes an instance only when it has no Active node', async () => {
    const node = await h.register({ hostname: 'web-1' });
    const [instance] = (await request(h, 'GET', '/api/v2/instances/')).body.results;
    const refused = await request(h, 'DELETE', `/api/v2/instances/${instance.id}/`);
    expect(refused.status).toBe(409);
    expect(refused.body.error_code).toBe('InstanceHasActiveNode');
    await h.call('cluster_DeregisterNode', node.nodeToken, {});
    expect((await request(h, 'DELETE', `/api/v2/instances/${instance.id}/`)).status).toBe(204);
    expect((await request(h, 'GET', `/api/v2/instances/${instance.id}/`)).status).toBe(404);
  });

  it('refuses writes without an admin token and reads without any token', async () => {
    expect((await request(h, 'POST', '/api/v2/instances/', READER, { hostname: 'x' })).status).toBe(403);
    expect((await request(h, 'POST', '/api/v2/instances/', ENROLL, { hostname: 'x' })).status).toBe(403);
    expect((await request(h, 'GET', '/api/v2/instances/', null)).status).toBe(401);
    expect((await request(h, 'GET', '/api/v2/instances/', READER)).status).toBe(200);
  });
});
