/**
 * compose.yaml: valid against the Compose specification's JSON schema (the one the dclint
 * package ships), and holding what README.md says of it: a coordinator with its store on a
 * volume, three agents each with its own identity, tokens from the environment, the images'
 * own healthchecks, and only NODEPULSE_* variables that the daemons read.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, posix } from 'node:path';
import Ajv from 'ajv';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { REPO_ROOT } from '../helpers/spawn-process.ts';
import { type Stage, dockerStage } from './dockerfile.ts';
import { COORDINATOR_DEFAULTS, type Daemon, readByNeither, unknownEnv } from './known-names.ts';

interface Service {
  build: { context: string; target: string };
  image: string;
  hostname?: string;
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[]; interval: string; timeout: string; start_period: string; retries: number };
  stop_grace_period?: string;
  ports?: string[];
}

const text = readFileSync(join(REPO_ROOT, 'compose.yaml'), 'utf8');
// Compose reads YAML merge keys (`<<: *agent`).
const compose = YAML.parse(text, { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const services = Object.entries(compose.services);
const daemonOf = (service: Service) => service.build.target as Daemon;
const agents = services.filter(([, service]) => daemonOf(service) === 'agent');
const [coordinatorName, coordinator] = services.find(([, service]) => daemonOf(service) === 'coordinator')!;

function composeSchema(): object {
  const require = createRequire(import.meta.url);
  const schema = JSON.parse(readFileSync(join(dirname(require.resolve('dclint/package.json')), 'schemas', 'compose.schema.json'), 'utf8')) as Record<string, unknown>;
  // Its $schema names draft-07 by an https address ajv does not know; ajv's default is draft-07.
  delete schema.$schema;
  return schema;
}

describe('compose.yaml', () => {
  it('is valid against the Compose specification', () => {
    const validate = new Ajv.default({ allErrors: true, strict: false }).compile(composeSchema());
    const valid = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it("runs a coordinator and three agents, built from the Dockerfile's two targets", () => {
    expect(services.map(([, service]) => daemonOf(service)).sort()).toEqual(['agent', 'agent', 'agent', 'coordinator']);
    for (const [, service] of services) {
      expect(service.build.context).toBe('.');
      expect(dockerStage(service.build.target).name).toBe(service.build.target);
      expect(service.image).toMatch(new RegExp(`^nodepulse-${service.build.target}:`));
    }
  });

  it('gives each agent a hostname and an identity of its own', () => {
    const hostnames = agents.map(([, service]) => service.hostname);
    const identities = agents.map(([, service]) => service.environment?.NODEPULSE_IDENTITY);
    expect(new Set(hostnames).size).toBe(3);
    expect(new Set(identities).size).toBe(3);
    expect([...hostnames, ...identities].every(Boolean)).toBe(true);
  });

  it('takes the tokens from the environment (.env), never writes one in the file', () => {
    const fromEnv = (name: string) => new RegExp(`^\\$\\{${name}:\\?[^}]+\\}$`);
    expect(coordinator.environment).toMatchObject({
      NODEPULSE_ADMIN_TOKEN: expect.stringMatching(fromEnv('NODEPULSE_ADMIN_TOKEN')),
      NODEPULSE_ENROLL_TOKEN: expect.stringMatching(fromEnv('NODEPULSE_ENROLL_TOKEN')),
    });
    for (const [, agent] of agents) expect(agent.environment?.NODEPULSE_ENROLL_TOKEN).toMatch(fromEnv('NODEPULSE_ENROLL_TOKEN'));
    expect(text).not.toMatch(/np_[A-Za-z0-9]/);
  });

  it('points the agents at the coordinator service and starts them once it is healthy', () => {
    const port = dockerStage('coordinator').env.NODEPULSE_PORT ?? String(COORDINATOR_DEFAULTS.port);
    for (const [, agent] of agents) {
      expect(agent.environment?.NODEPULSE_COORDINATOR).toBe(`http://${coordinatorName}:${port}`);
      expect(agent.depends_on).toEqual({ [coordinatorName]: { condition: 'service_healthy' } });
    }
    // The operator API only on the host's loopback.
    expect(coordinator.ports).toEqual([`127.0.0.1:${port}:${port}`]);
  });

  it("keeps the coordinator store on a named volume at the image's volume", () => {
    const [volume, target] = (coordinator.volumes ?? [])[0]!.split(':');
    expect(compose.volumes).toHaveProperty([volume!]);
    const stage = dockerStage('coordinator');
    expect(target).toBe(stage.volumes[0]);
    expect(posix.resolve(stage.workdir, COORDINATOR_DEFAULTS.store).startsWith(`${target}/`)).toBe(true);
  });

  it("checks health with the images' own HEALTHCHECK commands and timings", () => {
    for (const [, service] of services) {
      const stage: Stage = dockerStage(service.build.target);
      expect(service.healthcheck).toEqual({
        test: ['CMD', ...stage.healthcheck!.command],
        interval: stage.healthcheck!.options.interval,
        timeout: stage.healthcheck!.options.timeout,
        start_period: stage.healthcheck!.options['start-period'],
        retries: Number(stage.healthcheck!.options.retries),
      });
      expect(service.stop_grace_period).toMatch(/^\d+s$/);
    }
  });

  it('names only NODEPULSE_* variables that the daemons read', () => {
    for (const [, service] of services) expect(unknownEnv(daemonOf(service), Object.keys(service.environment ?? {}))).toEqual([]);
    // Comments included: the instructions at the top name variables too.
    expect(readByNeither(text.match(/NODEPULSE_[A-Z0-9_]+/g) ?? [])).toEqual([]);
  });
});
