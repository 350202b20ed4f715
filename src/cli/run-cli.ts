import type { CommandModule } from 'yargs';
import { ConfigError, EXIT_CONFIG, FixableError } from '../shared/errors.ts';
import { VERSION } from '../shared/version.ts';
import { hideBin, yargs } from './yargs-runtime.ts';

/**
 * Parses argv and runs one of `commands`: the whole CLI (main.ts) or the agent's commands alone
 * (agent-main.ts, the one-file agent). A ConfigError from any command (a flag, the config file, a
 * file it names) becomes exit 78 (EX_CONFIG) here and nowhere else, so systemd does not
 * restart-loop.
 */
export async function runCli(commands: readonly CommandModule[]): Promise<void> {
  let cli = yargs(hideBin(process.argv)).scriptName('nodepulse').version(VERSION);
  for (const command of commands) cli = cli.command(command);
  await cli
    .demandCommand(1, 'Name a command')
    .strict()
    .strictCommands()
    .fail((message, error, shown) => {
      if (error instanceof ConfigError) {
        process.stderr.write(`nodepulse: ${error.message}\n`);
        process.exit(EXIT_CONFIG);
      }
      if (error instanceof FixableError) {
        process.stderr.write(`nodepulse: ${error.message}\n`);
        process.exit(error.exitCode);
      }
      if (error) {
        process.stderr.write(`nodepulse: ${error.message}\n`);
        process.exit(1);
      }
      const unknown = unknownCommand(message);
      if (unknown) {
        process.stderr.write(`nodepulse: unknown command ${unknown.word}: \`${unknown.parent} --help\` lists the commands\n`);
        process.exit(2);
      }
      shown.showHelp();
      process.stderr.write(`\n${message}\n`);
      process.exit(2);
    })
    .parseAsync();
}

/** yargs' "Unknown command: frob" as the word and the command line before it (`nodepulse instances`), for a one-line answer rather than the whole help. */
export function unknownCommand(message: string | undefined, args: readonly string[] = hideBin(process.argv)): { word: string; parent: string } | undefined {
  const match = /^Unknown commands?: (.+)$/.exec(message ?? '');
  if (!match) return undefined;
  const word = match[1]!.split(', ')[0]!;
  const before = args.slice(0, Math.max(0, args.indexOf(word)));
  // The command words only: a flag and what follows it are not part of the command's name.
  const firstFlag = before.findIndex((arg) => arg.startsWith('-'));
  return { word: JSON.stringify(word), parent: ['nodepulse', ...(firstFlag === -1 ? before : before.slice(0, firstFlag))].join(' ') };
}
