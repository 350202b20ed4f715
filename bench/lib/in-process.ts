import { Writable } from 'node:stream';
import { installBootstrapTokens } from '../../src/coordinator/auth/bootstrap-tokens.ts';
import { CoordinatorConfigSchema, resolveTimeouts } from '../../src/coordinator/config.ts';
import { type Coordinator, createCoordinator } from '../../src/coordinator/coordinator.ts';
import { SqliteStore } from '../../src/coordinator/store/sqlite/sqlite-store.ts';
import type { Clock } from '../../src/shared/clock.ts';
import { loadConfig } from '../../src/shared/config-loader.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { BENCH_ADMIN, BENCH_ENROLL } from './coordinator-child.ts';

export interface InProcessCoordinator {
  coordinator: Coordinator;
  store: SqliteStore;
  close(): Promise<void>;
}

/** A coordinator in this process on a SQLite file (durable, WAL), logging warnings only to nowhere. */
export async function createInProcessCoordinator(storePath: string, clock: Clock, flags: Record<string, unknown>): Promise<InProcessCoordinator> {
  const config = loadConfig(CoordinatorConfigSchema, { flags });
  const settings = resolveTimeouts(config);
  const store = new SqliteStore(storePath);
  await store.migrate();
  await installBootstrapTokens(
    store,
    [
      { role: 'admin', token: BENCH_ADMIN },
      { role: 'enroll', token: BENCH_ENROLL, cluster: 'default' },
    ],
    clock.now(),
  );
  const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
  const logger = createLogger({ level: 'warn', component: 'coordinator', pretty: false, stream: sink });
  const coordinator = await createCoordinator({ store, clock, logger, config, settings });
  return {
    coordinator,
    store,
    async close() {
      await coordinator.stop();
      await store.close();
    },
  };
}
