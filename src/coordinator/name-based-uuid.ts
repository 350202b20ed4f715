import { createHash } from 'node:crypto';

const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A stable UUID for a name: SHA-1 of the name in the layout of a version 5 (name-based) UUID. */
export function nameBasedUuid(name: string): string {
  const hex = createHash('sha1').update(name).digest('hex');
  const variant = ((parseInt(hex.slice(16, 18), 16) & 0x3f) | 0x80).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(18, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The instance uuid of an agent's identity: the identity itself when it is a UUID (lowercase,
 * as UUIDs compare case-insensitively), else a name-based UUID of it, so that a `derived-...`
 * identity or a pod name still makes a real, stable uuid. One identity always maps to the same
 * uuid, which is what instances are matched by.
 */
export function instanceUuidOf(identity: string): string {
  return UUID_SHAPE.test(identity) ? identity.toLowerCase() : nameBasedUuid(`nodepulse:identity:${identity}`);
}
