import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveJwtSettings } from '../../../src/coordinator/auth/jwt-settings.ts';
import { CoordinatorConfigSchema } from '../../../src/coordinator/config.ts';
import { loadConfig } from '../../../src/shared/config-loader.ts';
import { configProblems } from '../../helpers/config-problems.ts';

const dir = mkdtempSync(join(tmpdir(), 'nodepulse-jwt-settings-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const SECRET = 'a'.repeat(32);
const withAudience = { jwtAudience: 'nodepulse', jwtIssuer: 'https://issuer.example.test' };

function resolve(flags: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) {
  return resolveJwtSettings(loadConfig(CoordinatorConfigSchema, { flags }), env);
}

const problems = (flags: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => configProblems(() => resolve(flags, env));

describe('JWT settings', () => {
  it('are off without a key source, whatever else is set', () => {
    expect(resolve({})).toBeUndefined();
    expect(resolve(withAudience)).toBeUndefined();
  });

  it('take the HS256 secret from NODEPULSE_JWT_SECRET or jwtSecretFile (trailing newline dropped), never both', () => {
    const file = join(dir, 'secret');
    writeFileSync(file, `${SECRET}\n`);
    const fromEnv = resolve(withAudience, { NODEPULSE_JWT_SECRET: SECRET });
    const fromFile = resolve({ ...withAudience, jwtSecretFile: file });
    expect(fromEnv?.keys).toEqual({ kind: 'secret', secret: new TextEncoder().encode(SECRET) });
    expect(fromFile?.keys).toEqual(fromEnv?.keys);
    expect(fromEnv).toMatchObject({ audience: 'nodepulse', issuer: 'https://issuer.example.test', clockToleranceSecs: 30, roleClaim: 'nodepulse_role', clusterClaim: 'nodepulse_cluster' });
    expect(problems({ ...withAudience, jwtSecretFile: file }, { NODEPULSE_JWT_SECRET: SECRET })).toEqual([expect.stringMatching(/^jwtSecretFile: .*give the secret once/)]);
  });

  it('refuse a secret shorter than 32 bytes, and an unreadable secret file', () => {
    expect(problems(withAudience, { NODEPULSE_JWT_SECRET: 'short' })).toEqual([expect.stringMatching(/^NODEPULSE_JWT_SECRET: .*at least 32 bytes/)]);
    expect(problems({ ...withAudience, jwtSecretFile: join(dir, 'missing') })).toEqual([expect.stringMatching(/^jwtSecretFile: ENOENT/)]);
  });

  it('require jwtAudience and jwtIssuer with keys', () => {
    expect(problems({}, { NODEPULSE_JWT_SECRET: SECRET })).toEqual([expect.stringMatching(/^jwtAudience: required/), expect.stringMatching(/^jwtIssuer: required/)]);
  });

  it('take one key source only', () => {
    const jwks = join(dir, 'jwks.json');
    writeFileSync(jwks, '{"keys": []}');
    expect(problems({ ...withAudience, jwtJwksFile: jwks, jwtJwksUrl: 'https://keys.example.test/jwks.json' }, { NODEPULSE_JWT_SECRET: SECRET })).toEqual([
      expect.stringMatching(/give one source of JWT keys, not 3/),
    ]);
  });

  it('take a JWKS URL over https, or http on a loopback address only', () => {
    expect(resolve({ ...withAudience, jwtJwksUrl: 'https://keys.example.test/jwks.json' })?.keys).toEqual({ kind: 'jwksUrl', url: new URL('https://keys.example.test/jwks.json') });
    expect(resolve({ ...withAudience, jwtJwksUrl: 'http://127.0.0.1:9000/jwks.json' })?.keys.kind).toBe('jwksUrl');
    for (const url of ['http://keys.example.test/jwks.json', 'ftp://keys.example.test/', 'not a url']) {
      expect(problems({ ...withAudience, jwtJwksUrl: url }), url).toEqual([expect.stringMatching(/^jwtJwksUrl: expected an https:\/\//)]);
    }
  });

  it('refuse a JWKS file that does not load, naming the file', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"keys": {}}');
    expect(problems({ ...withAudience, jwtJwksFile: bad })).toEqual([expect.stringContaining(`jwtJwksFile: ${bad}: the key set is not {"keys": [...]}`)]);
    expect(problems({ ...withAudience, jwtJwksFile: join(dir, 'absent.json') })).toEqual([expect.stringContaining('ENOENT')]);
  });
});
