import type { Server as TlsServer } from 'node:tls';
import { systemClock } from '../shared/clock.ts';
import { type KnownEnv, loadConfig, warnAboutUnknownEnv } from '../shared/config-loader.ts';
import { createLogger } from '../shared/logger.ts';
import { VERSION } from '../shared/version.ts';
import { type BootstrapToken, installBootstrapTokens } from './auth/bootstrap-tokens.ts';
import { resolveJwtSettings } from './auth/jwt-settings.ts';
import { ADMIN_TOKEN_ENV, CoordinatorConfigSchema, ENROLL_TOKEN_ENV, resolveTimeouts, timeoutWarnings, withEnvAliases } from './config.ts';
import { ComponentRunner, named } from './component-runner.ts';
import { createCoordinator } from './coordinator.ts';
import { DEFAULT_CLUSTER } from './node-service.ts';
import { migrateWhenReachable } from './store/migrate-when-reachable.ts';
import { openLeaderLock, openStore } from './store/open-store.ts';
import { cleartextWarning, httpsServerOptions, loadTls, logCertificate, reloadTls } from './tls-context.ts';
import { resolveWebhookSettings } from './webhooks/webhook-settings.ts';

export interface ServeOptions {
  /** --config; without it NODEPULSE_CONFIG names the file. */
  configFile?: string | undefined;
  flags: Record<string, unknown>;
  /** Every NODEPULSE_* variable nodepulse reads (the agent's too: they often share an environment). */
  knownEnv: KnownEnv;
}

/** Bootstrap tokens from the environment: secrets come from env or files, never flags. */
function bootstrapTokens(env: NodeJS.ProcessEnv): BootstrapToken[] {
  const tokens: BootstrapToken[] = [];
  const admin = env[ADMIN_TOKEN_ENV];
  const enroll = env[ENROLL_TOKEN_ENV];
  if (admin) tokens.push({ role: 'admin', token: admin });
  if (enroll) tokens.push({ role: 'enroll', token: enroll, cluster: DEFAULT_CLUSTER });
  return tokens;
}

/** `nodepulse coordinator serve`: the coordinator process, from config to graceful shutdown. */
export async function serveCoordinator(options: ServeOptions): Promise<void> {
  // A ConfigError from any of these lists every problem; the CLI exits 78.
  const config = loadConfig(CoordinatorConfigSchema, { file: options.configFile, env: withEnvAliases(process.env), flags: options.flags });
  const settings = resolveTimeouts(config);
  const tls = loadTls(config);
  const jwt = resolveJwtSettings(config, process.env);
  const webhooks = resolveWebhookSettings(config, process.env);
  const logger = createLogger({ level: config.logLevel, component: 'coordinator' });
  for (const warning of timeoutWarnings(settings, config.flushIntervalMs)) logger.warn(warning);
  const cleartext = cleartextWarning(config.host, tls !== undefined);
  if (cleartext) logger.warn(cleartext);
  if (tls) logCertificate(logger, 'TLS certificate loaded', tls);
  // A webhook secret's variable (secretEnv) is read too, whatever its name.
  warnAboutUnknownEnv(logger, process.env, { ...options.knownEnv, names: new Set([...options.knownEnv.names, ...(webhooks?.secretEnvNames ?? [])]) });

  const onConnectionError = (error: Error) => logger.warn('store connection lost', { error: error.message });
  const store = await openStore(config.store, { poolSize: config.storePoolSize, onConnectionError });
  await migrateWhenReachable(store, logger);
  // Replicas starting together may race to insert the same bootstrap token: the loser's second pass finds it.
  await installBootstrapTokens(store, bootstrapTokens(process.env), systemClock.now()).catch(() =>
    installBootstrapTokens(store, bootstrapTokens(process.env), systemClock.now()),
  );
  const leaderLock = openLeaderLock(store, onConnectionError);
  const coordinator = await createCoordinator({
    store,
    clock: systemClock,
    logger,
    config,
    settings,
    leaderLock,
    https: tls && httpsServerOptions(tls.context),
    jwt,
    webhooks,
    listen: { host: config.host, port: config.port },
  });
  // The store was opened, migrated and seeded above, before the coordinator was built on it; it
  // closes after the coordinator has stopped and written its last heartbeats.
  const components = new ComponentRunner([named('store', { start() {}, stop: () => store.close() }), coordinator], logger);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      logger.warn('second signal: exiting at once', { signal });
      process.exit(1);
    }
    stopping = true;
    logger.info('shutting down', { signal });
    let code = 0;
    // Every part that fails to stop is logged as it fails; the rest still stop.
    await components.stop().catch(() => (code = 1));
    logger.info('stopped');
    process.exit(code);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  // SIGHUP reloads the certificate; without TLS there is nothing to reload, and it must not stop the coordinator either.
  process.on('SIGHUP', () => {
    if (tls) reloadTls(coordinator.app.server as unknown as TlsServer, tls.files, logger);
    else logger.info('SIGHUP: nothing to reload (no TLS configured)');
  });

  await components.start();
  const address = coordinator.app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  logger.info('listening', {
    url: `${tls ? 'https' : 'http'}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
    port,
    store: store.kind,
    version: VERSION,
    heartbeatIntervalSecs: settings.intervalMs / 1000,
    heartbeatTimeoutSecs: settings.timeoutMs / 1000,
    // The clusters with their own interval and timeout.
    ...(settings.clusters && {
      clusters: Object.fromEntries(
        [...settings.clusters].map(([name, own]) => [name, { heartbeatIntervalSecs: own.intervalMs / 1000, heartbeatTimeoutSecs: own.timeoutMs / 1000 }]),
      ),
    }),
  });
}
