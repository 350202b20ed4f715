import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, type Harness, startHarness } from '../../helpers/coordinator-harness.ts';
import { request } from './instances-helpers.ts';

/** Seed 003: every default and limit of POST /api/v2/instances/. */
describe('POST /api/v2/instances/ (seed 003)', () => {
  let h: Harness;
  let serial = 0;
  const host = () => `host-${++serial}`;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());

  it('fills in every default of seed 003', async () => {
    const created = await request(h, 'POST', '/api/v2/instances/', ADMIN, { hostname: host() });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      capacity_adjustment: '1.00',
      enabled: true,
      managed_by_policy: true,
      node_type: 'execution',
      node_state: 'installed',
      listener_port: null,
      peers: [],
      peers_from_control_nodes: false,
      health_check_pending: false,
      errors: '',
    });
    expect(created.body.uuid).toMatch(/^[0-9a-f-]{36}$/);
  });

  const valid: [string, Record<string, unknown>, Record<string, unknown>][] = [
    ['a 250-character hostname', { hostname: 'h'.repeat(250) }, { hostname: 'h'.repeat(250) }],
    ['capacity_adjustment 0 as a number', { capacity_adjustment: 0 }, { capacity_adjustment: '0.00' }],
    ['capacity_adjustment "0.25"', { capacity_adjustment: '0.25' }, { capacity_adjustment: '0.25' }],
    ['capacity_adjustment 1', { capacity_adjustment: 1 }, { capacity_adjustment: '1.00' }],
    ['enabled false', { enabled: false }, { enabled: false }],
    ['managed_by_policy false', { managed_by_policy: false }, { managed_by_policy: false }],
    ...(['control', 'execution', 'hybrid', 'hop'] as const).map((type): [string, Record<string, unknown>, Record<string, unknown>] => [`node_type ${type}`, { node_type: type }, { node_type: type }]),
    ...(['provisioning', 'provision-fail', 'installed', 'deprovisioning', 'deprovision-fail'] as const).map(
      (state): [string, Record<string, unknown>, Record<string, unknown>] => [`node_state ${state}`, { node_state: state }, { node_state: state }],
    ),
    ['listener_port 0', { listener_port: 0 }, { listener_port: 0 }],
    ['listener_port 65535', { listener_port: 65535 }, { listener_port: 65535 }],
    ['listener_port null', { listener_port: null }, { listener_port: null }],
    ['peers null', { peers: null }, { peers: [] }],
    ['distinct peers', { peers: ['a', 'b'] }, { peers: ['a', 'b'] }],
    ['peers_from_control_nodes true', { peers_from_control_nodes: true }, { peers_from_control_nodes: true }],
    ['read-only fields, ignored', { capacity: 999, cpu: '64.0', uuid: 'mine', errors: 'x' }, { capacity: 0, cpu: '0.0', errors: '' }],
  ];
  it.each(valid)('accepts %s', async (_name, body, expected) => {
    const created = await request(h, 'POST', '/api/v2/instances/', ADMIN, { hostname: host(), ...body });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject(expected);
    expect(created.body.uuid).not.toBe('mine');
  });

  const invalid: [string, unknown, string][] = [
    ['no hostname', {}, 'hostname'],
    ['an empty hostname', { hostname: '' }, 'hostname'],
    ['a 251-character hostname', { hostname: 'h'.repeat(251) }, 'hostname'],
    ['a numeric hostname', { hostname: 42 }, 'hostname'],
    ['capacity_adjustment above 1', { hostname: 'x', capacity_adjustment: '1.01' }, 'capacity_adjustment'],
    ['capacity_adjustment below 0', { hostname: 'x', capacity_adjustment: -0.5 }, 'capacity_adjustment'],
    ['capacity_adjustment with three places', { hostname: 'x', capacity_adjustment: '0.125' }, 'capacity_adjustment'],
    ['capacity_adjustment not a number', { hostname: 'x', capacity_adjustment: 'lots' }, 'capacity_adjustment'],
    ['enabled as a string', { hostname: 'x', enabled: 'yes' }, 'enabled'],
    ['an unknown node_type', { hostname: 'x', node_type: 'worker' }, 'node_type'],
    ['an unknown node_state', { hostname: 'x', node_state: 'sleeping' }, 'node_state'],
    ['node_state ready, which needs an Active node', { hostname: 'x', node_state: 'ready' }, 'node_state'],
    ['node_state unavailable, which needs a registration', { hostname: 'x', node_state: 'unavailable' }, 'node_state'],
    ['managed_by_policy as a string', { hostname: 'x', managed_by_policy: 'yes' }, 'managed_by_policy'],
    ['peers_from_control_nodes as a number', { hostname: 'x', peers_from_control_nodes: 1 }, 'peers_from_control_nodes'],
    ['peers as a string, not an array', { hostname: 'x', peers: 'a' }, 'peers'],
    ['peers with a non-string item', { hostname: 'x', peers: ['a', 7] }, 'peers'],
    ['peers repeating one of several names', { hostname: 'x', peers: ['a', 'b', 'a'] }, 'peers'],
    ['listener_port 65536', { hostname: 'x', listener_port: 65536 }, 'listener_port'],
    ['listener_port -1', { hostname: 'x', listener_port: -1 }, 'listener_port'],
    ['duplicate peers', { hostname: 'x', peers: ['a', 'a'] }, 'peers'],
    ['an unknown field', { hostname: 'x', colour: 'blue' }, 'body'],
    ['a JSON array', [], 'body'],
  ];
  it.each(invalid)('refuses %s with a 400 naming the field', async (_name, body, field) => {
    const response = await request(h, 'POST', '/api/v2/instances/', ADMIN, body);
    expect(response.status).toBe(400);
    expect(response.body.error_code).toBe('InvalidRequest');
    expect(JSON.stringify(response.body.details)).toContain(field);
  });

  it('creates nothing for any of the refused bodies above', async () => {
    expect((await request(h, 'GET', '/api/v2/instances/?hostname=x')).body.count).toBe(0);
  });

  it('ignores read-only fields in a PATCH, as in a POST, and refuses unknown ones', async () => {
    const created = (await request(h, 'POST', '/api/v2/instances/', ADMIN, { hostname: host() })).body;
    const url = `/api/v2/instances/${created.id}/`;
    const readOnly = { id: 9999, uuid: 'mine', type: 'host', url: '/elsewhere/', created: '2000-01-01T00:00:00Z', capacity: 999, cpu: '64.0', memory: 1, errors: 'x', version: '9', last_seen: '2000-01-01T00:00:00Z', health_check_pending: true };
    const patched = await request(h, 'PATCH', url, ADMIN, { ...readOnly, enabled: false });
    expect(patched.status).toBe(200);
    expect(patched.body).toEqual({ ...created, enabled: false, modified: patched.body.modified });
    const unknown = await request(h, 'PATCH', url, ADMIN, { colour: 'blue' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error_code).toBe('InvalidRequest');
  });

  it('refuses invalid JSON with a 400', async () => {
    const response = await request(h, 'POST', '/api/v2/instances/', ADMIN, '{"hostname": "x",}');
    expect(response.status).toBe(400);
  });

  it('keeps hostnames unique within a cluster but not across clusters', async () => {
    expect((await request(h, 'POST', '/api/v2/instances/', ADMIN, { hostname: 'twin' })).status).toBe(201);
    const clash = await request(h, 'POST', '/api/v2/instances/', ADMIN, { hostname: 'twin' });
    expect(clash.status).toBe(409);
    expect(clash.body.error_code).toBe('HostnameTaken');
    expect((await request(h, 'POST', '/api/v2/instances/', ADMIN, { hostname: 'twin', cluster: 'other' })).status).toBe(201);
  });

  it('applies the same limits to PATCH and leaves other fields alone', async () => {
    const created = await request(h, 'POST', '/api/v2/instances/', ADMIN, { hostname: host(), listener_port: 27199 });
    const url = `/api/v2/instances/${created.body.id}/`;
    expect((await request(h, 'PATCH', url, ADMIN, { listener_port: 70000 })).status).toBe(400);
    expect((await request(h, 'PATCH', url, ADMIN, { hostname: 'twin' })).status).toBe(409);
    const patched = await request(h, 'PATCH', url, ADMIN, { node_type: 'hop', peers: ['a'] });
    expect(patched.body).toMatchObject({ node_type: 'hop', peers: ['a'], listener_port: 27199, enabled: true });
    expect((await request(h, 'PATCH', '/api/v2/instances/99999/', ADMIN, { enabled: false })).status).toBe(404);
  });
});
