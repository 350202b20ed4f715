import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ConfigError, EXIT_CONFIG } from '../shared/errors.ts';
import { VERSION } from '../shared/version.ts';
import { agentCommand } from './agent-command.ts';
import { clusterCommand } from './cluster-command.ts';
import { coordinatorCommand } from './coordinator-command.ts';
import { operatorCommands } from './operator-commands.ts';
import { quickstartCommand } from './quickstart-command.ts';
import { tokenCommand } from './token-command.ts';

/**
 * The one `nodepulse` CLI. A ConfigError from any command (a flag, the config file, a file it
 * names) becomes exit 78 (EX_CONFIG) here and nowhere else, so systemd does not restart-loop.
 * The command modules hold only their flags; each handler imports its implementation, so
 * `agent run` loads of the coordinator only its config schema (for the NODEPULSE_* names it
 * knows), never its store drivers or the operator HTTP client.
 */
await yargs(hideBin(process.argv))
  .scriptName('nodepulse')
  .version(VERSION)
  .command(coordinatorCommand)
  .command(agentCommand)
  .command(tokenCommand)
  .command(clusterCommand)
  .command(operatorCommands)
  .command(quickstartCommand)
  .demandCommand(1)
  .strict()
  .fail((message, error, cli) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`nodepulse: ${error.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    if (error) {
      process.stderr.write(`nodepulse: ${error.message}\n`);
      process.exit(1);
    }
    cli.showHelp();
    process.stderr.write(`\n${message}\n`);
    process.exit(2);
  })
  .parseAsync();
