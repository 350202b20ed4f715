import { agentCommand } from './agent-command.ts';
import { runCli } from './run-cli.ts';

/**
 * The agent's own entry point: `nodepulse agent run|facts|check|status` and nothing else, bundled
 * by scripts/bundle.mjs into dist/nodepulse-agent.mjs, one file that runs on a host with only
 * Node.js (no node_modules, no native module, no coordinator code).
 */
await runCli([agentCommand]);
