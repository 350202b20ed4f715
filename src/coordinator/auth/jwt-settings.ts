import { readFileSync } from 'node:fs';
import { ConfigError } from '../../shared/errors.ts';
import { type CoordinatorConfig, JWT_SECRET_ENV } from '../config.ts';
import { parseJwks } from './jwks.ts';

/** Where the keys that check JWTs come from: one source, whose kind pins the algorithms. */
export type JwtKeySource = { kind: 'secret'; secret: Uint8Array } | { kind: 'jwksFile'; path: string } | { kind: 'jwksUrl'; url: URL };

export interface JwtSettings {
  keys: JwtKeySource;
  audience: string;
  issuer: string;
  clockToleranceSecs: number;
  roleClaim: string;
  clusterClaim: string;
  refreshMs: number;
}

/** HS256 keys shorter than its hash are guessable offline from any token (RFC 7518, section 3.2). */
const JWT_SECRET_MIN_BYTES = 32;

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The JWT settings, or undefined when JWT bearer tokens are off (no key source). Every problem
 * is a ConfigError naming its key. The secret comes from NODEPULSE_JWT_SECRET or jwtSecretFile,
 * never a flag.
 */
export function resolveJwtSettings(config: CoordinatorConfig, env: NodeJS.ProcessEnv): JwtSettings | undefined {
  const problems: string[] = [];
  const sources: JwtKeySource[] = [];
  const envSecret = env[JWT_SECRET_ENV] || undefined;
  if (envSecret && config.jwtSecretFile) problems.push(`jwtSecretFile: set, and so is ${JWT_SECRET_ENV}: give the secret once`);
  const secret = envSecret ?? (config.jwtSecretFile === undefined ? undefined : readSecretFile(config.jwtSecretFile, problems));
  if (secret !== undefined) {
    const bytes = new TextEncoder().encode(secret.trimEnd());
    if (bytes.length < JWT_SECRET_MIN_BYTES) problems.push(`${envSecret ? JWT_SECRET_ENV : 'jwtSecretFile'}: the HS256 secret must be at least ${JWT_SECRET_MIN_BYTES} bytes`);
    sources.push({ kind: 'secret', secret: bytes });
  }
  if (config.jwtJwksFile !== undefined) {
    try {
      parseJwks(readFileSync(config.jwtJwksFile, 'utf8'));
    } catch (error) {
      problems.push(`jwtJwksFile: ${config.jwtJwksFile}: ${(error as Error).message}`);
    }
    sources.push({ kind: 'jwksFile', path: config.jwtJwksFile });
  }
  if (config.jwtJwksUrl !== undefined) {
    const url = URL.canParse(config.jwtJwksUrl) ? new URL(config.jwtJwksUrl) : undefined;
    // Over plain HTTP anyone on the path could hand out their own keys, and so any role.
    if (!url || !(url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)))) {
      problems.push('jwtJwksUrl: expected an https:// URL (http:// only on a loopback address)');
    } else {
      sources.push({ kind: 'jwksUrl', url });
    }
  }
  if (sources.length > 1) problems.push(`jwtSecretFile (or ${JWT_SECRET_ENV}), jwtJwksFile, jwtJwksUrl: give one source of JWT keys, not ${sources.length}`);
  const [keys] = sources;
  if (keys) {
    if (config.jwtAudience === undefined) problems.push('jwtAudience: required with JWT keys (the aud every token must name)');
    if (config.jwtIssuer === undefined) problems.push('jwtIssuer: required with JWT keys (the iss every token must name)');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  if (!keys || config.jwtAudience === undefined || config.jwtIssuer === undefined) return undefined;
  return {
    keys,
    audience: config.jwtAudience,
    issuer: config.jwtIssuer,
    clockToleranceSecs: config.jwtClockToleranceSecs,
    roleClaim: config.jwtRoleClaim,
    clusterClaim: config.jwtClusterClaim,
    refreshMs: config.jwtJwksRefreshSecs * 1000,
  };
}

function readSecretFile(path: string, problems: string[]): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    problems.push(`jwtSecretFile: ${(error as Error).message}`);
    return undefined;
  }
}
