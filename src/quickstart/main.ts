import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT_CONFIG, FixableError } from '../shared/errors.ts';

/**
 * `nodepulse quickstart` (npm start): a coordinator on the embedded SQLite store in ./data with a
 * local agent registered to it. A development convenience: the tokens are kept in plain text in
 * ./data/quickstart-tokens.json (mode 0600) so they survive restarts; production deployments use
 * the systemd units or the container with their own tokens.
 */
export interface QuickstartOptions {
  dataDir: string;
  port: number;
}

interface QuickstartTokens {
  admin: string;
  enroll: string;
}

const BIN = fileURLToPath(new URL('../../bin/nodepulse', import.meta.url));

/** How to run the CLI from here: bin/nodepulse in a checkout, else its full path. */
function commandPath(): string {
  const path = relative(process.cwd(), BIN);
  return path.startsWith('..') ? BIN : path;
}

function loadOrCreateTokens(dataDir: string): QuickstartTokens {
  const file = join(dataDir, 'quickstart-tokens.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as QuickstartTokens;
  const token = (role: string) => `np_qs${role}_${randomBytes(24).toString('hex')}`;
  const tokens = { admin: token('admin'), enroll: token('enroll') };
  writeFileSync(file, `${JSON.stringify(tokens, null, 2)}\n`, { mode: 0o600 });
  return tokens;
}

/** Children get their own process group: a terminal's Ctrl-C reaches only this supervisor, which stops the agent first. */
function start(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env }, detached: true });
}

const exited = (child: ChildProcess) =>
  new Promise<number>((resolveExit) => {
    if (child.exitCode !== null) resolveExit(child.exitCode);
    else child.once('exit', (code) => resolveExit(code ?? 1));
  });

function killed(child: ChildProcess): ChildProcess {
  child.kill('SIGTERM');
  return child;
}

async function waitReady(url: string, coordinator: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 600 && coordinator.exitCode === null; attempt += 1) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 100));
  }
  throw new Error(`quickstart: the coordinator did not answer ${url}/readyz within a minute`);
}

/**
 * Fails at once, naming the address and --port, when something already listens on the port:
 * waiting for /readyz there would find that other server ready (another quick start) and print
 * this one's banner for it.
 */
async function checkPortFree(port: number): Promise<void> {
  const server = createServer();
  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      rejectListen(
        error.code === 'EADDRINUSE'
          ? new FixableError(`cannot listen: 127.0.0.1:${port} is already in use (another quick start or coordinator?): stop it, or choose another port with --port`, EXIT_CONFIG)
          : error,
      ),
    );
    server.listen(port, '127.0.0.1', () => resolveListen());
  });
  await new Promise((resolveClose) => server.close(resolveClose));
}

export async function runQuickstart(options: QuickstartOptions): Promise<void> {
  await checkPortFree(options.port);
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const tokens = loadOrCreateTokens(dataDir);
  const url = `http://127.0.0.1:${options.port}`;
  const coordinator = start(['coordinator', 'serve', '--port', String(options.port), '--store', join(dataDir, 'nodepulse.db')], {
    NODEPULSE_ADMIN_TOKEN: tokens.admin,
    NODEPULSE_ENROLL_TOKEN: tokens.enroll,
  });
  try {
    await waitReady(url, coordinator);
  } catch (error) {
    // Its own message (a busy port, a store it cannot open) is above, on the inherited stderr.
    const code = coordinator.exitCode;
    if (code !== null) throw new FixableError(`quickstart: the coordinator exited (code ${code}) before it was ready on ${url}; its message is above`, code || 1);
    await exited(killed(coordinator));
    throw error;
  }
  const agent = start(['agent', 'run', '--coordinator', url, '--state-dir', join(dataDir, 'agent')], {
    NODEPULSE_ENROLL_TOKEN: tokens.enroll,
    NODEPULSE_STARTUP_DELAY: '0',
  });
  process.stdout.write(
    [
      '',
      `nodepulse quick start: coordinator on ${url} (store ${join(dataDir, 'nodepulse.db')}) with a local agent.`,
      `Admin token (also in ${join(dataDir, 'quickstart-tokens.json')}), for the operator commands and curl:`,
      `  export NODEPULSE_COORDINATOR=${url} NODEPULSE_API_TOKEN=${tokens.admin}`,
      `  ${commandPath()} nodes list`,
      `  curl -s -X POST ${url}/api/v1/actions/invoke/cluster_GetDetails -H "Authorization: Bearer $NODEPULSE_API_TOKEN"`,
      `The web page: ${url}/ui/ (sign in with the admin token).`,
      'Ctrl-C stops the agent (it deregisters with reason Shutdown), then the coordinator.',
      '',
    ].join('\n') + '\n',
  );

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      agent.kill('SIGTERM');
      await exited(agent);
      coordinator.kill('SIGTERM');
      await exited(coordinator);
    })());
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  const first = await Promise.race([exited(agent).then(() => 'agent'), exited(coordinator).then(() => 'coordinator')]);
  if (!stopping) process.stderr.write(`nodepulse quickstart: the ${first} exited; stopping\n`);
  await stop();
  process.exitCode = (coordinator.exitCode ?? 1) || (agent.exitCode ?? 1);
}
