import { Kind, type TObject, type TSchema } from '@sinclair/typebox';
import type { Argv } from 'yargs';
import { flagName } from '../shared/config-loader.ts';
import { ConfigError } from '../shared/errors.ts';

/** The yargs type of a config key's flag, shown in the help: booleans and numbers as such, the rest (lists and maps as JSON) as text. */
function flagType(property: TSchema): 'boolean' | 'number' | 'string' {
  const kind = property[Kind] as string;
  if (kind === 'Boolean') return 'boolean';
  return kind === 'Number' || kind === 'Integer' ? 'number' : 'string';
}

/**
 * Command-line flags generated from a config schema, so that every key `fooBar` is `--foo-bar`
 * with no second list to keep in step. Booleans are yargs booleans (`--mass-silence-guard false`,
 * `--no-mass-silence-guard`) and numbers yargs numbers (`[number]` in the help); loadConfig
 * validates every value with the file and the environment (an integer key refuses 7.5 there).
 */
function configOptions(yargs: Argv, schema: TObject): Argv {
  let withOptions = yargs;
  for (const [key, property] of Object.entries(schema.properties as Record<string, TSchema>)) {
    // A key that may hold a secret (the webhook sinks) is set in the file or the environment only: `--webhooks` is an unknown option.
    if (property.fileOnly === true) continue;
    withOptions = withOptions.option(flagName(key), {
      type: flagType(property),
      describe: String(property.description ?? key),
      defaultDescription: JSON.stringify(property.default),
    });
  }
  return withOptions;
}

/** The flags of a two-word command run from a config (`coordinator serve`, `agent run`): --config, one flag per key, nothing else. */
export function configCommandOptions(yargs: Argv, schema: TObject): Argv {
  const withConfig = yargs.option('config', { type: 'string', describe: 'YAML config file (or NODEPULSE_CONFIG)' });
  return unknownArgumentsAreConfigErrors(configOptions(withConfig, schema), 2);
}

/** The flag values of a parsed command line, keyed by config key; undefined when not given. */
export function configFlagValues(argv: Record<string, unknown>, schema: TObject): Record<string, unknown> {
  return Object.fromEntries(Object.keys(schema.properties).map((key) => [key, argv[flagName(key)]]));
}

/** What yargs passes a check as its second argument at run time (its typings call it `aliases`). */
interface DefinedOptions {
  key: Record<string, unknown>;
  alias: Record<string, string[]>;
}

const camelCase = (flag: string) => flag.replace(/-([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());

/**
 * A daemon reports an unknown flag or a stray argument like an unknown key in its config file:
 * a configuration error, exit 78 (EX_CONFIG), rather than a usage error (exit 2), so that a
 * typo in a systemd unit does not make systemd restart the daemon forever. `commandWords` is
 * how many words name the command (`coordinator serve`: 2).
 */
function unknownArgumentsAreConfigErrors(yargs: Argv, commandWords: number): Argv {
  // Not strictCommands either: a stray word after the command is this check's config error, not a usage error (exit 2).
  return yargs.strict(false).strictCommands(false).check((argv, defined) => {
    const options = defined as unknown as DefinedOptions;
    const flags = [...Object.keys(options.key), ...Object.entries(options.alias).flat(2)];
    const known = new Set(['_', '$0', ...flags, ...flags.map(camelCase)]);
    const unknown = new Set(Object.keys(argv).filter((name) => !known.has(name)).map(flagName));
    const problems = [...unknown].map((flag) => `--${flag}: unknown option`);
    // A number flag given text (`--port eighty`) parses as NaN: the text itself is gone by now.
    const notNumbers = new Set(Object.keys(argv).filter((name) => typeof argv[name] === 'number' && Number.isNaN(argv[name])).map(flagName));
    for (const flag of notNumbers) problems.push(`--${flag}: expected a number`);
    for (const stray of argv._.slice(commandWords)) problems.push(`${String(stray)}: unexpected argument`);
    if (problems.length > 0) throw new ConfigError(problems);
    return true;
  });
}
