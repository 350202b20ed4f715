import { readFileSync } from 'node:fs';
import { type Static, type TObject, type TSchema, Kind } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import YAML from 'yaml';
import { ConfigError } from './errors.ts';

/**
 * Config layering shared by both daemons: defaults (in the schema) < config file < NODEPULSE_*
 * environment < command-line flags. Keys are camelCase in the file, UPPER_SNAKE after
 * `NODEPULSE_` in the environment and kebab-case on the command line. Every problem is
 * reported with its key; the caller exits 78.
 */
export interface ConfigSources {
  /** Path of a YAML (or JSON) file; missing means none. */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Flag values already parsed by yargs, keyed by camelCase config key; undefined = not given. */
  flags?: Record<string, unknown>;
}

export function envName(key: string): string {
  return `NODEPULSE_${key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;
}

export function flagName(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

function readFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError([`config file ${path}: ${(error as Error).message}`]);
  }
  let parsed: unknown;
  try {
    parsed = YAML.parse(text);
  } catch (error) {
    throw new ConfigError([`config file ${path}: ${(error as Error).message}`]);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError([`config file ${path}: the top level must be a mapping of keys`]);
  }
  return parsed as Record<string, unknown>;
}

/** A scalar from the environment, converted to the type the schema asks for. */
function parseEnvValue(schema: TSchema, raw: string): unknown {
  const kind = schema[Kind] as string;
  if (kind === 'Array' || kind === 'Object' || kind === 'Record') {
    try {
      return JSON.parse(raw);
    } catch {
      return raw;
    }
  }
  return Value.Convert(schema, raw);
}

function pathName(instancePath: string): string {
  return instancePath.replace(/^\//, '').replace(/\//g, '.');
}

/** Validates one layered object against the schema and lists every problem by key. */
function problemsOf<T extends TObject>(schema: T, value: unknown, origin: Map<string, string>): string[] {
  const problems: string[] = [];
  for (const error of Value.Errors(schema, value)) {
    const key = pathName(error.path);
    if (error.schema === schema && error.message.includes('additional')) continue;
    const from = origin.get(key.split('.')[0] ?? '') ?? 'default';
    problems.push(`${key || '(root)'}: ${error.message} (got ${JSON.stringify(error.value)} from ${from})`);
  }
  return problems;
}

export function loadConfig<T extends TObject>(schema: T, sources: ConfigSources): Readonly<Static<T>> {
  const problems: string[] = [];
  const merged: Record<string, unknown> = {};
  const origin = new Map<string, string>();
  const known = schema.properties as Record<string, TSchema>;

  if (sources.file) {
    for (const [key, value] of Object.entries(readFile(sources.file))) {
      if (!(key in known)) {
        problems.push(`${key}: unknown key in config file ${sources.file}`);
        continue;
      }
      merged[key] = value;
      origin.set(key, `config file ${sources.file}`);
    }
  }
  const env = sources.env ?? {};
  for (const [key, propSchema] of Object.entries(known)) {
    const raw = env[envName(key)];
    if (raw === undefined || raw === '') continue;
    merged[key] = parseEnvValue(propSchema, raw);
    origin.set(key, `environment ${envName(key)}`);
  }
  for (const [key, value] of Object.entries(sources.flags ?? {})) {
    if (value === undefined) continue;
    const propSchema = known[key];
    if (!propSchema) {
      problems.push(`${key}: unknown option`);
      continue;
    }
    merged[key] = typeof value === 'string' ? Value.Convert(propSchema, value) : value;
    origin.set(key, `option --${flagName(key)}`);
  }

  const withDefaults = Value.Default(schema, Value.Clone(merged)) as Record<string, unknown>;
  problems.push(...problemsOf(schema, withDefaults, origin));
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(withDefaults) as Readonly<Static<T>>;
}
