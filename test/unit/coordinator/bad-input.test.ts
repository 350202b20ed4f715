import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PRINTABLE_RULE } from '../../../src/shared/control-characters.ts';
import { HOSTNAME_MAX_LENGTH } from '../../../src/shared/protocol.ts';
import { ACTION, ADMIN, ENROLL, type Harness, startHarness } from '../../helpers/coordinator-harness.ts';

let h: Harness;
beforeEach(async () => {
  h = await startHarness({ bodyLimitBytes: 4096 });
});
afterEach(async () => h.close());

/** Everything the store holds, to prove a refused request changed nothing. */
const snapshot = () =>
  JSON.stringify(['clusters', 'tokens', 'instances', 'nodes'].map((table) => h.store.db.prepare(`SELECT * FROM ${table} ORDER BY 1`).all()));

interface Case {
  what: string;
  action: string;
  body: string | undefined;
  contentType?: string;
  status: number;
  code: string;
  mentions?: string;
}

const cases: Case[] = [
  { what: 'malformed JSON', action: 'cluster_RegisterNode', body: '{"name": ', status: 400, code: 'MalformedJson' },
  { what: 'a JSON array body', action: 'cluster_RegisterNode', body: '[1,2]', status: 400, code: 'InvalidRequest', mentions: 'object' },
  { what: 'a JSON string body', action: 'cluster_RegisterNode', body: '"web-1"', status: 400, code: 'InvalidRequest' },
  { what: 'null as the body', action: 'cluster_RegisterNode', body: 'null', status: 400, code: 'InvalidRequest' },
  { what: 'a number for name', action: 'cluster_RegisterNode', body: '{"name": 42}', status: 400, code: 'InvalidRequest', mentions: 'name' },
  { what: 'a string for includeTerminated', action: 'cluster_GetDetails', body: '{"includeTerminated": "true"}', status: 400, code: 'InvalidRequest', mentions: 'includeTerminated' },
  { what: 'an empty name', action: 'cluster_RegisterNode', body: '{"name": ""}', status: 400, code: 'InvalidRequest', mentions: 'name' },
  { what: 'a name over the hostname limit', action: 'cluster_RegisterNode', body: JSON.stringify({ name: 'x'.repeat(251) }), status: 400, code: 'InvalidRequest', mentions: 'name' },
  { what: 'a hostname over the limit', action: 'cluster_RegisterNode', body: JSON.stringify({ hostname: 'x'.repeat(251) }), status: 400, code: 'InvalidRequest', mentions: 'hostname' },
  { what: 'a facts hostname over the limit', action: 'cluster_RegisterNode', body: JSON.stringify({ facts: { hostname: 'x'.repeat(251) } }), status: 400, code: 'InvalidRequest', mentions: 'facts.hostname' },
  { what: 'control characters in a name', action: 'cluster_RegisterNode', body: JSON.stringify({ name: 'evil\u001b[31mred' }), status: 400, code: 'InvalidRequest', mentions: 'name' },
  { what: 'a newline in a hostname', action: 'cluster_RegisterNode', body: JSON.stringify({ hostname: 'a\nb' }), status: 400, code: 'InvalidRequest', mentions: 'hostname' },
  { what: 'a C1 control (U+009B, CSI) in a name', action: 'cluster_RegisterNode', body: JSON.stringify({ name: 'web\u009b31m-1' }), status: 400, code: 'InvalidRequest', mentions: 'name' },
  { what: 'NEL (U+0085) in a hostname', action: 'cluster_RegisterNode', body: JSON.stringify({ hostname: 'web\u0085-1' }), status: 400, code: 'InvalidRequest', mentions: 'hostname' },
  { what: 'a right-to-left override (U+202E) in a hostname', action: 'cluster_RegisterNode', body: JSON.stringify({ hostname: 'web-\u202e1-bew' }), status: 400, code: 'InvalidRequest', mentions: 'hostname' },
  { what: 'a left-to-right embedding (U+202A) in an identity', action: 'cluster_RegisterNode', body: JSON.stringify({ identity: '\u202aid-1' }), status: 400, code: 'InvalidRequest', mentions: 'identity' },
  { what: 'a bidi isolate (U+2066) in a cluster name', action: 'cluster_RegisterNode', body: JSON.stringify({ cluster: 'edge\u2066' }), status: 400, code: 'InvalidRequest', mentions: 'cluster' },
  { what: 'a pop directional isolate (U+2069) in a boot id', action: 'cluster_RegisterNode', body: JSON.stringify({ bootId: 'boot\u2069' }), status: 400, code: 'InvalidRequest', mentions: 'bootId' },
  { what: 'a left-to-right mark (U+200E) in a label value', action: 'cluster_RegisterNode', body: JSON.stringify({ labels: { zone: 'a\u200e' } }), status: 400, code: 'InvalidRequest', mentions: 'labels.zone' },
  { what: 'a right-to-left mark (U+200F) in a label key', action: 'cluster_RegisterNode', body: JSON.stringify({ labels: { 'zo\u200fne': 'a' } }), status: 400, code: 'InvalidRequest', mentions: 'labels' },
  { what: 'a line separator (U+2028) in a facts hostname', action: 'cluster_RegisterNode', body: JSON.stringify({ facts: { hostname: 'a\u2028b' } }), status: 400, code: 'InvalidRequest', mentions: 'facts.hostname' },
  { what: 'negative memory in facts', action: 'cluster_RegisterNode', body: JSON.stringify({ facts: { memory: { totalBytes: -1, source: 'host' } } }), status: 400, code: 'InvalidRequest', mentions: 'facts.memory.totalBytes' },
  { what: 'an unknown figure source', action: 'cluster_RegisterNode', body: JSON.stringify({ facts: { cpu: { cpus: 2, source: 'guess' } } }), status: 400, code: 'InvalidRequest', mentions: 'facts.cpu.source' },
  { what: 'a huge body', action: 'cluster_RegisterNode', body: JSON.stringify({ name: 'a', padding: 'x'.repeat(10_000) }), status: 413, code: 'PayloadTooLarge' },
  { what: 'a non-JSON content type', action: 'cluster_RegisterNode', body: 'name=a', contentType: 'application/x-www-form-urlencoded', status: 415, code: 'UnsupportedMediaType' },
  { what: 'a prototype-pollution key', action: 'cluster_RegisterNode', body: '{"__proto__": {"admin": true}, "name": "p"}', status: 400, code: 'MalformedJson' },
];

describe('bad input', () => {
  it.each(cases)('refuses $what with $status $code and changes nothing', async ({ action, body, contentType, status, code, mentions }) => {
    const before = snapshot();
    const response = await h.coordinator.app.inject({
      method: 'POST',
      url: `${ACTION}${action}`,
      headers: { authorization: `Bearer ${action === 'cluster_RegisterNode' ? ENROLL : ADMIN}`, 'content-type': contentType ?? 'application/json' },
      payload: body,
    });
    expect(response.statusCode).toBe(status);
    const parsed = JSON.parse(response.body);
    expect(parsed).toMatchObject({ error_code: code });
    expect(typeof parsed.message).toBe('string');
    expect(typeof parsed.details).toBe('object');
    if (mentions) expect(parsed.message).toContain(mentions);
    expect(snapshot()).toBe(before);
  });

  it('names the field and the rule broken by a control or bidirectional character, not a regular expression', async () => {
    const response = await h.call('cluster_RegisterNode', ENROLL, { hostname: 'web-\u202e1' });
    expect(response.status).toBe(400);
    expect(response.body.message).toBe(`Invalid body: hostname ${PRINTABLE_RULE}`);
    expect(response.body.details.problems).toEqual([{ path: 'hostname', message: PRINTABLE_RULE }]);
  });

  it('refuses an unknown deregistration reason, naming the allowed values, and keeps the node Active', async () => {
    const { nodeToken } = await h.register();
    const response = await h.call('cluster_DeregisterNode', nodeToken, { reason: 'Exploded' });
    expect(response.status).toBe(400);
    expect(response.body.message).toContain('reason');
    expect((await h.call('cluster_GetDetails', ADMIN, {})).body.nodes[0].status).toBe('Active');
  });

  it('accepts a name and a hostname of exactly the hostname limit (250, like seed 003)', async () => {
    const longest = 'x'.repeat(HOSTNAME_MAX_LENGTH);
    expect((await h.call('cluster_RegisterNode', ENROLL, { name: longest })).status).toBe(200);
    expect((await h.call('cluster_RegisterNode', ENROLL, { name: 'other', hostname: `y${longest.slice(1)}` })).status).toBe(200);
    expect(HOSTNAME_MAX_LENGTH).toBe(250);
  });

  it('ignores unknown extra fields, so newer agents work with this coordinator', async () => {
    const response = await h.call('cluster_RegisterNode', ENROLL, { name: 'future', capabilitiesV9: ['x'], facts: { gpu: { count: 2 } } });
    expect(response.status).toBe(200);
    const heartbeat = await h.call('cluster_ReportNodeHeartbeat', response.body.nodeToken, { somethingNew: true });
    expect(heartbeat).toEqual({ status: 200, body: {} });
  });

  it('answers unknown routes and methods with the error shape, never a 5xx', async () => {
    for (const [method, url] of [
      ['POST', '/api/v1/actions/invoke/cluster_Explode'],
      ['GET', '/api/v1/actions/invoke/cluster_GetDetails'],
      ['DELETE', '/readyz'],
    ] as const) {
      const response = await h.coordinator.app.inject({ method, url, headers: { authorization: `Bearer ${ADMIN}` } });
      expect(response.statusCode).toBe(404);
      expect(JSON.parse(response.body).error_code).toBe('NotFound');
    }
  });
});
