import { agentCommand } from './agent-command.ts';
import { clusterCommand } from './cluster-command.ts';
import { coordinatorCommand } from './coordinator-command.ts';
import { operatorCommands } from './operator-commands.ts';
import { quickstartCommand } from './quickstart-command.ts';
import { runCli } from './run-cli.ts';
import { tokenCommand, tokensCommand } from './token-command.ts';

/**
 * The one `nodepulse` CLI. The command modules hold only their flags; each handler imports its
 * implementation, so `agent run` loads of the coordinator only its config schema (for the
 * NODEPULSE_* names it knows), never its store drivers or the operator HTTP client.
 */
await runCli([coordinatorCommand, agentCommand, tokensCommand, ...operatorCommands, quickstartCommand, tokenCommand, clusterCommand]);
