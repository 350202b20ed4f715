import { readFileSync } from 'node:fs';
import { type Static, type TObject, type TSchema, FormatRegistry, Kind } from '@sinclair/typebox';
import { type ValueError, ValueErrorType } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';
import { validate as validateCron } from 'node-cron';
import YAML from 'yaml';
import { ConfigError } from './errors.ts';

/**
 * Config layering shared by both daemons: defaults (in the schema) < config file < NODEPULSE_*
 * environment < command-line flags. Keys are camelCase in the file, UPPER_SNAKE after
 * `NODEPULSE_` in the environment and kebab-case on the command line. Every problem is
 * reported with its key; the caller exits 78.
 */
export interface ConfigSources {
  /** Path of a YAML (or JSON) file (the --config flag); missing means NODEPULSE_CONFIG of `env`, else none. */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Flag values already parsed by yargs, keyed by camelCase config key; undefined = not given. */
  flags?: Record<string, unknown>;
}

/** The environment variable that names the config file when --config is not given. */
export const CONFIG_FILE_ENV = 'NODEPULSE_CONFIG';

const ENV_PREFIX = 'NODEPULSE_';

/** `format: 'cron'` in a config schema: a schedule that node-cron's own validate accepts. */
FormatRegistry.Set('cron', (value) => validateCron(value));
const FORMAT_EXPECTATIONS: Record<string, string> = { cron: 'a node-cron schedule such as "*/10 * * * * *"' };

export function envName(key: string): string {
  return `${ENV_PREFIX}${key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;
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

/** Every environment variable a config schema reads. */
export function envNamesOf(schema: TObject): string[] {
  return Object.keys(schema.properties).map(envName);
}

/** The NODEPULSE_* variables one process family knows: exact names, and prefixes of families (NODEPULSE_FAULT_). */
export interface KnownEnv {
  names: ReadonlySet<string>;
  prefixes: readonly string[];
}

/** The NODEPULSE_* variables of `env` that nothing reads (a misspelling is silently ignored otherwise), sorted. */
export function unknownEnvNames(env: NodeJS.ProcessEnv, known: KnownEnv): string[] {
  return Object.keys(env)
    .filter((name) => name.startsWith(ENV_PREFIX) && !known.names.has(name) && !known.prefixes.some((prefix) => name.startsWith(prefix)))
    .sort();
}

/** One warning naming every NODEPULSE_* variable of `env` that nothing reads; the daemon keeps going. Names only: a value may be a secret. */
export function warnAboutUnknownEnv(logger: { warn(message: string, meta: object): unknown }, env: NodeJS.ProcessEnv, known: KnownEnv): void {
  const variables = unknownEnvNames(env, known);
  if (variables.length > 0) logger.warn('ignoring unknown NODEPULSE_* environment variables (misspelled?)', { variables });
}

/** A scalar from the environment or a flag, converted to the type the schema asks for. */
function parseTextValue(schema: TSchema, raw: string): unknown {
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

/**
 * A value that matches no member of a union (a check of any type) is reported by the errors of
 * the one member its literals select (`type: command`), so a problem names the key inside it
 * (`checks.0.cron`); when the literals select no single member, the union's own error stands.
 */
function keyedErrors(error: ValueError): ValueError[] {
  if (error.type !== ValueErrorType.Union) return [error];
  const members = error.errors.map((iterator) => [...iterator]);
  const selected = members.filter((errors) => !errors.some((inner) => inner.type === ValueErrorType.Literal));
  return selected.length === 1 ? selected[0]!.flatMap(keyedErrors) : [error];
}

/** Validates one layered object against the schema and lists every problem by key. */
function problemsOf<T extends TObject>(schema: T, value: unknown, origin: Map<string, string>): string[] {
  const problems: string[] = [];
  for (const error of [...Value.Errors(schema, value)].flatMap(keyedErrors)) {
    const key = pathName(error.path);
    if (error.schema === schema && error.message.includes('additional')) continue;
    const from = origin.get(key.split('.')[0] ?? '') ?? 'default';
    const format = error.type === ValueErrorType.StringFormat ? FORMAT_EXPECTATIONS[String(error.schema.format)] : undefined;
    const message = format === undefined ? error.message : `expected ${format}`;
    problems.push(`${key || '(root)'}: ${message} (got ${JSON.stringify(error.value)} from ${from})`);
  }
  return problems;
}

export function loadConfig<T extends TObject>(schema: T, sources: ConfigSources): Readonly<Static<T>> {
  const problems: string[] = [];
  const merged: Record<string, unknown> = {};
  const origin = new Map<string, string>();
  const known = schema.properties as Record<string, TSchema>;
  const env = sources.env ?? {};
  const file = sources.file ?? (env[CONFIG_FILE_ENV] || undefined);

  if (file) {
    for (const [key, value] of Object.entries(readFile(file))) {
      if (!(key in known)) {
        problems.push(`${key}: unknown key in config file ${file}`);
        continue;
      }
      merged[key] = value;
      origin.set(key, `config file ${file}`);
    }
  }
  for (const [key, propSchema] of Object.entries(known)) {
    const raw = env[envName(key)];
    if (raw === undefined || raw === '') continue;
    merged[key] = parseTextValue(propSchema, raw);
    origin.set(key, `environment ${envName(key)}`);
  }
  for (const [key, value] of Object.entries(sources.flags ?? {})) {
    if (value === undefined) continue;
    const propSchema = known[key];
    if (!propSchema) {
      problems.push(`${key}: unknown option`);
      continue;
    }
    merged[key] = typeof value === 'string' ? parseTextValue(propSchema, value) : value;
    origin.set(key, `option --${flagName(key)}`);
  }

  const withDefaults = Value.Default(schema, Value.Clone(merged)) as Record<string, unknown>;
  problems.push(...problemsOf(schema, withDefaults, origin));
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(withDefaults) as Readonly<Static<T>>;
}
