import { describe, expect, it } from 'vitest';
import { type ActiveNodeOfInstance, type InstanceMatch, type RegistrationClaim, decideActiveNode } from '../../../src/coordinator/store/plan-registration.ts';

const OWNER = 'uuid-owner';
const instance = (uuid: string | null = OWNER): InstanceMatch => ({ id: 1, uuid, hostname: 'web-1' });
// Last heartbeat at 1_000; the window starts at 900, so the node is still heartbeating unless a test moves the window.
const active: ActiveNodeOfInstance = { nodeId: 'node-old', bootId: 'boot-1', lastHeartbeat: 1_000 };
const claim = (overrides: Partial<RegistrationClaim> = {}): RegistrationClaim => ({
  identity: OWNER,
  hostname: 'web-1',
  bootId: 'boot-1',
  duplicateSince: 900,
  ...overrides,
});
const SILENT = { duplicateSince: 1_001 };

describe('decideActiveNode', () => {
  it('has nothing to decide for a new instance, or one without an Active node (pre-created: claimed by hostname)', () => {
    expect(decideActiveNode(undefined, undefined, claim())).toEqual({ action: 'none' });
    expect(decideActiveNode(instance(null), undefined, claim({ identity: 'uuid-new' }))).toEqual({ action: 'none' });
    expect(decideActiveNode(instance('uuid-precreated'), undefined, claim({ identity: 'uuid-new' }))).toEqual({ action: 'none' });
  });

  it('lets the same agent on the same boot (found by its identity) supersede its heartbeating node: its process restarted', () => {
    expect(decideActiveNode(instance(), active, claim())).toEqual({ action: 'supersede', nodeId: 'node-old' });
  });

  it('refuses the same identity from another boot, or without proof of one, while the node heartbeats: a clone', () => {
    const duplicate = { action: 'refuse', refusal: { outcome: 'duplicate', activeNodeId: 'node-old', lastHeartbeat: 1_000 } };
    expect(decideActiveNode(instance(), active, claim({ bootId: 'boot-2' }))).toEqual(duplicate);
    expect(decideActiveNode(instance(), active, claim({ bootId: undefined }))).toEqual(duplicate);
  });

  it('refuses another agent on the same host (same boot, another identity) while its node heartbeats, naming that identity', () => {
    expect(decideActiveNode(instance(), active, claim({ identity: 'uuid-second-agent' }))).toEqual({
      action: 'refuse',
      refusal: { outcome: 'hostname-in-use', activeNodeId: 'node-old', lastHeartbeat: 1_000, hostname: 'web-1', otherIdentity: OWNER },
    });
  });

  it("refuses a client without an identity on an agent's instance whatever its boot id: it cannot prove it is that agent", () => {
    const refused = decideActiveNode(instance(), active, claim({ identity: undefined }));
    expect(refused).toMatchObject({ action: 'refuse', refusal: { outcome: 'hostname-in-use', otherIdentity: OWNER } });
  });

  it('lets an agent whose identity was lost adopt the instance once the old node fell silent, whatever the boot', () => {
    const adopt = { action: 'supersede', nodeId: 'node-old' };
    expect(decideActiveNode(instance(), active, claim({ identity: 'uuid-new-identity', ...SILENT }))).toEqual(adopt);
    expect(decideActiveNode(instance(), active, claim({ identity: 'uuid-new-identity', bootId: 'boot-2', ...SILENT }))).toEqual(adopt);
  });

  it('keeps the boot id rule for an instance without a uuid (made by a seed-only client)', () => {
    const seedOnlyNode = { ...active, bootId: null };
    expect(decideActiveNode(instance(null), seedOnlyNode, claim({ identity: undefined, bootId: undefined }))).toMatchObject({ refusal: { outcome: 'duplicate' } });
    expect(decideActiveNode(instance(null), active, claim({ identity: undefined }))).toEqual({ action: 'supersede', nodeId: 'node-old' });
    expect(decideActiveNode(instance(null), seedOnlyNode, claim({ identity: undefined, bootId: undefined, ...SILENT }))).toEqual({ action: 'supersede', nodeId: 'node-old' });
  });
});
