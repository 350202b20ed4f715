import { type Stats, readFileSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { type FlattenedJWSInput, type JWSHeaderParameters, type JWTVerifyGetKey, createLocalJWKSet, createRemoteJWKSet, customFetch, errors } from 'jose';
import type { Clock } from '../../shared/clock.ts';
import type { Logger } from '../../shared/logger.ts';

/** A key set larger than this, or with more keys, is refused: it is read into memory and searched per token. */
const JWKS_MAX_BYTES = 128 * 1024;
export const JWKS_MAX_KEYS = 50;
/** A JWKS URL that has not answered within this is given up (the token waiting for it is answered 503). */
const JWKS_FETCH_TIMEOUT_MS = 5000;
/** After a fetch, a token naming an unknown key fetches the set again no sooner than this. */
const JWKS_COOLDOWN_MS = 30_000;

/** A JSON Web Key Set as nodepulse accepts it; jose checks each key's members when it is used. */
const JsonWebKeySet = Type.Object({
  keys: Type.Array(Type.Object({ kty: Type.String() }, { additionalProperties: true }), { maxItems: JWKS_MAX_KEYS }),
});
type JsonWebKeySet = Static<typeof JsonWebKeySet>;

/** The key set in `text`, or an Error saying what is wrong with it. */
export function parseJwks(text: string): JsonWebKeySet {
  if (Buffer.byteLength(text) > JWKS_MAX_BYTES) throw new Error(`the key set is larger than ${JWKS_MAX_BYTES} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error('the key set is not JSON');
  }
  if (!Value.Check(JsonWebKeySet, parsed)) throw new Error(`the key set is not {"keys": [...]} with at most ${JWKS_MAX_KEYS} keys`);
  return parsed;
}

/**
 * The key set could not be had (unreachable, too slow, too large, malformed): the token is not
 * at fault, so it is answered 503 rather than 401 and not counted as a failed authentication.
 */
export class KeysUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`JWT keys unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'KeysUnavailableError';
  }
}

/** A key getter that tells the token's fault (no key matches its kid) from the key set's (everything else). */
function keysOrUnavailable(getKey: (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>): JWTVerifyGetKey {
  return async (header, token) => {
    try {
      return await getKey(header, token);
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) throw error;
      throw new KeysUnavailableError(error);
    }
  };
}

/** What tells one version of a file from the next: a rewrite or a rename changes one of these. */
function fileVersion(info: Stats | undefined): string {
  return info ? `${info.ino}:${info.size}:${info.mtimeMs}` : 'missing';
}

/**
 * Keys from a JWKS file, read at start and again when the file changed, which is looked at most
 * every `refreshMs` on the coordinator's clock (a stat; no timer, no watcher). A changed file
 * that does not load is logged and the keys in force stay.
 */
export function jwksFileKeys(path: string, clock: Clock, refreshMs: number, logger: Logger): JWTVerifyGetKey {
  let version = fileVersion(statSync(path));
  let keys = createLocalJWKSet(parseJwks(readFileSync(path, 'utf8')));
  let checkedAt = clock.now();
  let checking: Promise<void> | undefined;
  const check = async () => {
    const seen = fileVersion(await stat(path).catch(() => undefined));
    if (seen === version) return;
    version = seen;
    try {
      keys = createLocalJWKSet(parseJwks(await readFile(path, 'utf8')));
      logger.info('JWT key set file read again', { path });
    } catch (error) {
      logger.warn('JWT key set file changed but does not load; the keys in force stay', { path, error: (error as Error).message });
    }
  };
  return keysOrUnavailable(async (header, token) => {
    if (!checking && clock.now() - checkedAt >= refreshMs) {
      checkedAt = clock.now();
      checking = check().finally(() => (checking = undefined));
    }
    if (checking) await checking;
    return keys(header, token);
  });
}

/** Reads at most `limit` bytes of a response body; a larger one is abandoned. */
async function boundedText(response: Response, limit: number): Promise<string> {
  if (Number(response.headers.get('content-length') ?? 0) > limit) throw new Error(`the key set is larger than ${limit} bytes`);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body ?? []) {
    size += chunk.byteLength;
    if (size > limit) throw new Error(`the key set is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** fetch, bounded: a 200 answer is read up to JWKS_MAX_BYTES and must be a key set of at most JWKS_MAX_KEYS keys. */
async function boundedJwksFetch(url: string, options: RequestInit): Promise<Response> {
  const response = await fetch(url, options);
  if (response.status !== 200) return response;
  const text = await boundedText(response, JWKS_MAX_BYTES);
  parseJwks(text);
  return new Response(text, { status: 200, headers: { 'content-type': 'application/json' } });
}

/**
 * Keys from a JWKS URL (jose's remote set: a token naming an unknown key fetches again after a
 * cooldown), fetched at start and again in the background every `refreshMs` on the coordinator's
 * clock while the keys in hand keep serving, so an unreachable URL costs nothing until a token
 * needs a key it has never had. Each fetch is bounded in time, size and number of keys.
 */
export function jwksUrlKeys(url: URL, clock: Clock, refreshMs: number, logger: Logger): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(url, {
    timeoutDuration: JWKS_FETCH_TIMEOUT_MS,
    cooldownDuration: JWKS_COOLDOWN_MS,
    cacheMaxAge: Number.POSITIVE_INFINITY,
    [customFetch]: boundedJwksFetch,
  });
  let failing = false;
  let refreshedAt = clock.now();
  const refresh = () => {
    refreshedAt = clock.now();
    remote.reload().then(
      () => {
        if (failing) logger.info('JWT key set fetched again', { url: url.href });
        failing = false;
      },
      (error: unknown) => {
        // Once per failing spell: every refresh fails while the URL is down.
        if (!failing) logger.warn('fetching the JWT key set failed; the keys in hand stay', { url: url.href, error: (error as Error).message });
        failing = true;
      },
    );
  };
  refresh();
  return keysOrUnavailable((header, token) => {
    if (!remote.reloading && clock.now() - refreshedAt >= refreshMs) refresh();
    return remote(header, token);
  });
}
