import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { instanceUuidOf } from '../../../src/coordinator/name-based-uuid.ts';
import { ADMIN, type Harness, READER, startHarness } from '../../helpers/coordinator-harness.ts';
import { request } from './instances-helpers.ts';

let h: Harness;
beforeEach(async () => {
  // Interval 10 s: the duplicate-identity window is 1.5 intervals, 15 s.
  h = await startHarness({ heartbeatInterval: 10, heartbeatTimeout: 35 });
});
afterEach(async () => h.close());

const activeNodeIds = async () =>
  ((await h.call('cluster_GetDetails', READER, {})).body.nodes as Array<{ nodeId: string }>).map((node) => node.nodeId).sort();
const instanceOf = async (nodeId: string) => (await h.store.getNode(nodeId))?.instanceId;
const uuidOf = async (nodeId: string) => (await h.store.getInstance((await instanceOf(nodeId)) ?? -1))?.uuid;

describe('registration: one instance per host, one Active node per instance', () => {
  it('gives every registration a new node and keeps one instance per identity (an agent restart supersedes)', async () => {
    const first = await h.register({ identity: 'host-uuid-1', hostname: 'a', bootId: 'boot-1' });
    const second = await h.register({ identity: 'host-uuid-1', hostname: 'a', bootId: 'boot-1' });
    expect(second.nodeId).not.toBe(first.nodeId);
    const nodes = (await h.call('cluster_GetDetails', READER, { includeTerminated: true })).body.nodes as Array<Record<string, unknown>>;
    expect(nodes.filter((node) => node.status === 'Active').map((node) => node.nodeId)).toEqual([second.nodeId]);
    expect(nodes.find((node) => node.nodeId === first.nodeId)).toMatchObject({ status: 'Terminated', terminationReason: 'Unknown' });
    expect(await instanceOf(second.nodeId)).toBe(await instanceOf(first.nodeId));
  });

  it('keeps a renamed host as the same instance (found by identity)', async () => {
    const first = await h.register({ identity: 'id-7', hostname: 'old-name', bootId: 'boot-1' });
    const second = await h.register({ identity: 'id-7', hostname: 'new-name', bootId: 'boot-1' });
    const instanceId = await instanceOf(first.nodeId);
    expect(await instanceOf(second.nodeId)).toBe(instanceId);
    expect((await h.store.getInstance(instanceId ?? -1))?.hostname).toBe('new-name');
  });

  it('refuses a clone (same identity, other boot, old node still heartbeating) with 409 DuplicateIdentity', async () => {
    const original = await h.register({ identity: 'cloned', hostname: 'vm', bootId: 'boot-A' });
    h.clock.advance(5_000);
    await h.call('cluster_ReportNodeHeartbeat', original.nodeToken);
    const clone = await h.call('cluster_RegisterNode', ADMIN, { identity: 'cloned', hostname: 'vm', bootId: 'boot-B' });
    expect(clone.status).toBe(409);
    expect(clone.body).toMatchObject({ error_code: 'DuplicateIdentity', details: { activeNodeId: original.nodeId } });
    expect((await h.call('cluster_ReportNodeHeartbeat', original.nodeToken)).status).toBe(200);
  });

  it('lets a rebooted host (other boot, old node silent) take over its instance', async () => {
    const before = await h.register({ identity: 'rebooted', hostname: 'vm', bootId: 'boot-A' });
    h.clock.advance(20_000);
    const after = await h.register({ identity: 'rebooted', hostname: 'vm', bootId: 'boot-B' });
    expect(after.nodeId).not.toBe(before.nodeId);
    expect((await h.call('cluster_ReportNodeHeartbeat', before.nodeToken)).status).toBe(410);
  });

  it('does not let two seed-only clients with the same name evict each other', async () => {
    const first = await h.register({ name: 'worker' });
    // The second client, same name, no identity, no boot id: it cannot prove it is the first one restarting.
    for (let round = 0; round < 3; round++) {
      h.clock.advance(5_000);
      expect((await h.call('cluster_ReportNodeHeartbeat', first.nodeToken)).status).toBe(200);
      expect(await h.call('cluster_RegisterNode', ADMIN, { name: 'worker' })).toMatchObject({
        status: 409,
        body: { error_code: 'DuplicateIdentity', details: { activeNodeId: first.nodeId } },
      });
    }
    expect(await activeNodeIds()).toEqual([first.nodeId]);
    // Once the first falls silent for the window, the name is free again: one instance per named host.
    h.clock.advance(15_001);
    const second = await h.register({ name: 'worker' });
    expect(await instanceOf(second.nodeId)).toBe(await instanceOf(first.nodeId));
    expect(await activeNodeIds()).toEqual([second.nodeId]);
  });

  it('refuses a registration with a boot id while a node without one is still heartbeating', async () => {
    const seedOnly = await h.register({ name: 'mixed' });
    const withBoot = await h.call('cluster_RegisterNode', ADMIN, { name: 'mixed', bootId: 'boot-1' });
    expect(withBoot).toMatchObject({ status: 409, body: { error_code: 'DuplicateIdentity' } });
    expect(await activeNodeIds()).toEqual([seedOnly.nodeId]);
  });

  it('counts a heartbeat still only in memory as heartbeating', async () => {
    const original = await h.register({ identity: 'buffered', hostname: 'vm', bootId: 'boot-A' });
    // Past the window by the stored timestamp (its join), but it heartbeats now: only the buffer knows.
    h.clock.advance(20_000);
    expect((await h.call('cluster_ReportNodeHeartbeat', original.nodeToken)).status).toBe(200);
    expect((await h.store.getNode(original.nodeId))?.lastHeartbeat).toBe(h.clock.now() - 20_000);
    const clone = await h.call('cluster_RegisterNode', ADMIN, { identity: 'buffered', hostname: 'vm', bootId: 'boot-B' });
    expect(clone.status).toBe(409);
    expect(clone.body.details.lastHeartbeat).toBe(new Date(h.clock.now()).toISOString());
  });
});

describe('two agents on one host (same hostname and boot id, different identities)', () => {
  const first = { identity: 'agent-first', hostname: 'shared-host', bootId: 'boot-1' };
  const second = { ...first, identity: 'agent-second' };
  const supersededNodes = async () =>
    ((await h.call('cluster_GetDetails', READER, { includeTerminated: true })).body.nodes as Array<Record<string, unknown>>).filter(
      (node) => node.terminationReason === 'Unknown',
    );

  it('refuses the second with 409 HostnameInUse naming the first identity and the fix, while the first keeps its node', async () => {
    const running = await h.register(first);
    for (let round = 0; round < 3; round++) {
      h.clock.advance(5_000);
      expect((await h.call('cluster_ReportNodeHeartbeat', running.nodeToken)).status).toBe(200);
      const refused = await h.call('cluster_RegisterNode', ADMIN, second);
      expect(refused).toMatchObject({
        status: 409,
        body: {
          error_code: 'HostnameInUse',
          details: { otherIdentity: instanceUuidOf('agent-first'), hostname: 'shared-host', activeNodeId: running.nodeId },
        },
      });
      expect(refused.body.message).toMatch(/identity [0-9a-f-]{36}.*its own hostname.*--hostname.*state directory/);
    }
    expect(await activeNodeIds()).toEqual([running.nodeId]);
    expect(await supersededNodes()).toEqual([]);
    expect(await uuidOf(running.nodeId)).toBe(instanceUuidOf('agent-first'));
  });

  it('lets an agent whose identity was lost adopt the instance once the old node fell silent; the old identity is then refused', async () => {
    const lost = await h.register(first);
    h.clock.advance(15_001);
    const adopted = await h.register(second);
    expect(await instanceOf(adopted.nodeId)).toBe(await instanceOf(lost.nodeId));
    expect(await uuidOf(adopted.nodeId)).toBe(instanceUuidOf('agent-second'));
    expect((await h.call('cluster_ReportNodeHeartbeat', lost.nodeToken)).status).toBe(410);
    const comeback = await h.call('cluster_RegisterNode', ADMIN, first);
    expect(comeback).toMatchObject({ status: 409, body: { error_code: 'HostnameInUse', details: { otherIdentity: instanceUuidOf('agent-second') } } });
  });

  it('lets an agent with an identity claim a pre-created instance by hostname', async () => {
    const created = await request(h, 'POST', '/api/v2/instances/', ADMIN, { hostname: 'shared-host' });
    const claimed = await h.register(first);
    expect(await instanceOf(claimed.nodeId)).toBe(created.body.id);
    expect(await uuidOf(claimed.nodeId)).toBe(instanceUuidOf('agent-first'));
  });
});

describe('the instance uuid', () => {
  it('is the identity when the identity is a UUID (lowercased)', async () => {
    const { nodeId } = await h.register({ identity: '5B0E0E5A-9F7C-4C1B-8E2D-3A4B5C6D7E8F', hostname: 'u1' });
    expect(await uuidOf(nodeId)).toBe('5b0e0e5a-9f7c-4c1b-8e2d-3a4b5c6d7e8f');
  });

  it('is a stable name-based UUID for an identity that is not one, and still matches it', async () => {
    const first = await h.register({ identity: 'derived-0123abcd', hostname: 'pod-a', bootId: 'boot-1' });
    const uuid = await uuidOf(first.nodeId);
    expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // The same identity from a renamed host finds the same instance, with the same uuid.
    const again = await h.register({ identity: 'derived-0123abcd', hostname: 'pod-b', bootId: 'boot-1' });
    expect(await instanceOf(again.nodeId)).toBe(await instanceOf(first.nodeId));
    expect(await uuidOf(again.nodeId)).toBe(uuid);
    const other = await h.register({ identity: 'web-statefulset-0', hostname: 'pod-c' });
    expect(await uuidOf(other.nodeId)).not.toBe(uuid);
  });
});
