import { hash, randomBytes, randomUUID } from 'node:crypto';

/**
 * Token formats. Operator tokens: `np_<id>_<secret>`; node tokens: `npn_<nodeId>_<secret>`, so a
 * heartbeat names its node without a lookup table. Only SHA-256 hashes are stored; a token is
 * shown once, when it is created.
 */
const NODE_PREFIX = 'npn_';
const NODE_ID_LENGTH = 36;

/** One-shot `hash`, not a Hash object per call: half the cost, and every heartbeat pays it. */
export function hashToken(token: string): string {
  return hash('sha256', token, 'hex');
}

/**
 * Constant-time comparison of two hex hashes: every character is compared, whatever differs
 * first. Character codes, not Buffers: this runs on every heartbeat and allocates nothing.
 */
export function hashesEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

export function newOperatorToken(): { id: string; token: string } {
  const id = randomBytes(6).toString('hex');
  return { id, token: `np_${id}_${randomBytes(24).toString('hex')}` };
}

export function newNodeToken(): { nodeId: string; token: string } {
  const nodeId = randomUUID();
  return { nodeId, token: `${NODE_PREFIX}${nodeId}_${randomBytes(24).toString('hex')}` };
}

/** The node a node token claims to be, or undefined when it is not a node token. */
export function nodeIdOfToken(token: string): string | undefined {
  if (!token.startsWith(NODE_PREFIX) || token.charAt(NODE_PREFIX.length + NODE_ID_LENGTH) !== '_') return undefined;
  return token.slice(NODE_PREFIX.length, NODE_PREFIX.length + NODE_ID_LENGTH);
}

/** A JWT's compact form: three base64url segments (the signature empty when unsigned, which is refused); API keys have no dots. */
const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]*$/;

export function isJwtShaped(token: string): boolean {
  return JWT_SHAPE.test(token);
}

/** The bearer token of an Authorization header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
