/**
 * The agent process entry: loads the config, wires the real dependencies, and owns signals, the
 * environment and the exit code. SIGTERM/SIGINT: stop schedules, deregister within the deadline,
 * exit 0; a second signal exits at once. SIGHUP: reload the config file. Config errors are
 * thrown as ConfigError: the CLI turns them into exit 78 (EX_CONFIG) for every command.
 */
import { type KnownEnv, warnAboutUnknownEnv } from '../shared/config-loader.ts';
import { type Logger, createLogger } from '../shared/logger.ts';
import { Agent, factsSettings } from './agent.ts';
import { type AgentConfig, loadAgentConfig, requireRunSettings } from './config.ts';
import { CoordinatorClient, readCaBundle, readClientCertificate, tokenReader, tokenSource } from './coordinator-client.ts';
import { FactsCollector } from './facts-collector.ts';
import { HealthRunner } from './health/health-runner.ts';
import { loadIdentity, readBootId } from './identity.ts';
import { type Probes, systemProbes, withHangingProbes } from './probes.ts';
import { computeCapacity } from './capacity.ts';
import { lookUpStatus } from './status-command.ts';
import { statusFileWriter } from './status-file.ts';
import { StatusServer, parseListenAddress } from './status-server.ts';
import { NOTIFY_ENV_KEYS, SystemdNotifier } from './systemd-notifier.ts';

/** Settings read once at start: the connection to the coordinator is built from them. */
const CONNECTION_KEYS = ['coordinator', 'caFile', 'tlsCert', 'tlsKey'] as const;

/** How long past the shutdown deadline the process exits even if stopping has not finished. */
const SHUTDOWN_GUARD_MS = 250;

export interface AgentInvocation {
  configFile?: string | undefined;
  flags: Record<string, unknown>;
}

export interface RunInvocation extends AgentInvocation {
  /** Every NODEPULSE_* variable nodepulse reads (the coordinator's too: they often share an environment). */
  knownEnv: KnownEnv;
}

/** Loads the config; a ConfigError lists every problem (the CLI exits 78). */
function load(invocation: AgentInvocation): AgentConfig {
  return loadAgentConfig({ file: invocation.configFile, env: process.env, flags: invocation.flags });
}

/** systemd's notification settings, taken out of the environment so command checks cannot ping on the agent's behalf. */
function takeNotifier(logger: Logger): SystemdNotifier {
  const notifier = new SystemdNotifier({ env: process.env, logger });
  for (const key of NOTIFY_ENV_KEYS) delete process.env[key];
  return notifier;
}

/** Fault injection for tests and drills: NODEPULSE_FAULT_HANG_COLLECTOR=cpu,disks makes those probes hang. */
function probesFor(config: AgentConfig): Probes {
  const probes = systemProbes(config.cgroupRoot);
  const hang = (process.env.NODEPULSE_FAULT_HANG_COLLECTOR ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return hang.length > 0 ? withHangingProbes(probes, hang) : probes;
}

export async function runAgent(invocation: RunInvocation): Promise<void> {
  let config = load(invocation);
  const { coordinator } = requireRunSettings(config);
  const ca = readCaBundle(config.caFile);
  const clientCertificate = readClientCertificate(config);
  const logger = createLogger({ level: config.logLevel, component: 'agent' });
  warnAboutUnknownEnv(logger, process.env, invocation.knownEnv);
  const identity = loadIdentity({ stateDir: config.stateDir, override: config.identity });
  if (identity.warning) logger.warn(identity.warning, { identity: identity.identity });
  const writeStatus = statusFileWriter(config.stateDir, logger);
  const client = new CoordinatorClient({ baseUrl: coordinator, requestTimeoutMs: config.requestTimeout * 1000, ca, clientCertificate, logger });
  const agent = new Agent({
    config,
    logger,
    coordinator: client,
    enrollToken: tokenReader(config),
    tokenSource: tokenSource(config),
    notifier: takeNotifier(logger),
    probes: probesFor(config),
    identity: identity.identity,
    bootId: readBootId(process.env),
    onStatus: writeStatus,
  });
  const statusServer = await startStatusServer(config.statusListen, agent, logger);
  const stopped = () => {
    writeStatus(agent.status());
    return statusServer?.stop();
  };
  handleSignals(agent, logger, () => config, (next) => (config = next), invocation, stopped);
  // Once its signal handlers are in place: a SIGTERM after this line deregisters, never kills outright.
  logger.info('agent starting', {
    coordinator,
    identity: identity.identity,
    identitySource: identity.source,
    stateDir: config.stateDir,
    heartbeatIntervalSecs: config.heartbeatInterval,
    checks: config.checks.length,
    pid: process.pid,
  });
  await agent.start();
}

/** The opt-in status endpoint; listening before the agent starts, so a probe never finds the port closed. */
async function startStatusServer(listen: string | undefined, agent: Agent, logger: Logger): Promise<StatusServer | undefined> {
  if (listen === undefined) return undefined;
  const server = new StatusServer(() => agent.status());
  const { host, port } = await server.start(parseListenAddress(listen));
  logger.info('status endpoint listening', { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, paths: ['/healthz', '/status'] });
  return server;
}

function handleSignals(
  agent: Agent,
  logger: Logger,
  current: () => AgentConfig,
  replace: (c: AgentConfig) => void,
  invocation: AgentInvocation,
  stopped: () => Promise<void> | undefined,
): void {
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn('second signal: exiting now', { signal });
      process.exit(1);
    }
    stopping = true;
    const deadlineMs = current().deregisterTimeout * 1000;
    logger.info('shutting down', { signal, deregisterDeadlineMs: deadlineMs });
    // agent.stop() keeps the deadline; this only guards against a stop that does not.
    setTimeout(() => process.exit(0), deadlineMs + SHUTDOWN_GUARD_MS).unref();
    agent.stop(deadlineMs).then(
      async () => {
        await stopped();
        process.exit(0);
      },
      (error: unknown) => {
        logger.error('shutdown failed', { error });
        process.exit(0);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  process.on('SIGHUP', () => reload(agent, logger, current, replace, invocation));
}

function reload(agent: Agent, logger: Logger, current: () => AgentConfig, replace: (c: AgentConfig) => void, invocation: AgentInvocation): void {
  let next: AgentConfig;
  try {
    next = load(invocation);
    requireRunSettings(next);
  } catch (error) {
    logger.error('config reload failed; keeping the running configuration', { error: (error as Error).message });
    return;
  }
  const before = current();
  const changed = CONNECTION_KEYS.filter((key) => next[key] !== before[key]);
  if (changed.length > 0) logger.warn(`${changed.join(', ')} changed: restart the agent to apply`);
  const identityChanged = (next.identity ?? '') !== (before.identity ?? '') || next.stateDir !== before.stateDir;
  const identity = identityChanged ? loadIdentity({ stateDir: next.stateDir, override: next.identity }) : undefined;
  if (identity?.warning) logger.warn(identity.warning, { identity: identity.identity });
  replace(next);
  agent.reload(next, identity?.identity);
}

/** `agent facts`: one collection, printed as JSON with the capacity figures. */
export async function printFacts(invocation: AgentInvocation): Promise<void> {
  const config = load(invocation);
  const collector = new FactsCollector(probesFor(config), factsSettings(config));
  await collector.collectAll();
  const facts = collector.facts();
  const capacity = computeCapacity(facts.cpu?.cpus, facts.memory?.totalBytes, factsSettings(config).capacity);
  const range = capacity ? { min: Math.min(capacity.cpuCapacity, capacity.memCapacity), max: Math.max(capacity.cpuCapacity, capacity.memCapacity) } : null;
  const out = { facts, capacity: capacity ? { ...capacity, ...range } : null, collectionMs: collector.lastCollectionMs, rssBytes: process.memoryUsage.rss() };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  process.exit(0);
}

/** `agent check`: runs every configured check once; exits 2 if any is critical. */
export async function runChecksOnce(invocation: AgentInvocation): Promise<void> {
  const config = load(invocation);
  const logger = createLogger({ level: 'error', component: 'agent' });
  const collector = new FactsCollector(probesFor(config), factsSettings(config));
  const runner = new HealthRunner(config.checks, {
    logger,
    deps: {
      readMemory: async () => {
        await collector.refresh(['memory', 'cgroup']);
        return collector.facts().memory;
      },
      outputLimit: config.checkOutputLimit,
    },
  });
  const report = (await runner.runAll()) ?? { status: 'passing', checks: [] };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.exit(report.status === 'critical' ? 2 : 0);
}

/** `agent status`: the running agent's status as JSON; exit 0 while it makes progress, else 1. */
export async function printStatus(invocation: AgentInvocation): Promise<void> {
  const found = await lookUpStatus(load(invocation));
  if ('problem' in found) {
    process.stderr.write(`nodepulse: ${found.problem}\n`);
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify({ source: found.source, ...found.report }, null, 2)}\n`);
  process.exit(found.report.healthy ? 0 : 1);
}
