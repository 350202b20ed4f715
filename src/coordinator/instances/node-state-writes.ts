import { ApiError } from '../../shared/errors.ts';
import type { Instance } from './instance-schemas.ts';

/**
 * node_state is derived (design.md): `ready` needs an Active node and `unavailable` a registered
 * instance without one (or with a failing check). An admin may only describe a host no agent has
 * registered yet: provisioning, provision-fail, installed, deprovisioning, deprovision-fail.
 */
const DERIVED_ONLY_STATES: readonly Instance['node_state'][] = ['ready', 'unavailable'];

/** A 400 naming one field of the body, shaped like a schema validation failure. */
export function invalidField(path: string, message: string): ApiError {
  return new ApiError('InvalidRequest', `Invalid body: ${path} ${message}`, { problems: [{ path, message }] });
}

export interface CurrentNodeState {
  /** Whether an agent ever registered the instance: from then on node_state is derived. */
  registered: boolean;
  /** The node_state the instance shows now. */
  shown: Instance['node_state'];
}

/**
 * Whether an admin's node_state is stored: `false` when it changes nothing (a client sending back
 * the record it read, as AWX allows); throws a 400 naming node_state when only the derivation may
 * produce it. `current` is undefined for a new instance.
 */
export function admitNodeState(requested: Instance['node_state'], current: CurrentNodeState | undefined): boolean {
  if (current?.shown === requested) return false;
  if (current?.registered) {
    throw invalidField('node_state', `cannot be set once an agent has registered the instance: it is derived (now ${current.shown})`);
  }
  if (DERIVED_ONLY_STATES.includes(requested)) {
    throw invalidField('node_state', `${requested} is derived from the agent's registration; before one, set provisioning, provision-fail, installed, deprovisioning or deprovision-fail`);
  }
  return true;
}
